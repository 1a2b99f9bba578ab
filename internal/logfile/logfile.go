package logfile

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"sync"
)

// Defaults for Open's arguments that are zero.
const (
	DefaultMaxSize = 1 << 20
	DefaultKeep    = 1
)

// Writer appends to a size-capped, rotated log file.
type Writer struct {
	path    string
	maxSize int64
	keep    int

	mu     sync.Mutex
	f      *os.File // nil after Close, or after a failed rotation
	size   int64
	err    error
	closed bool
}

// Open opens (or creates, with its folder) the log at path, readable by
// its owner only. The file is rotated when a write would take it past
// maxSize bytes; keep old files are kept (path.1 … path.<keep>). Zero
// values take the defaults. A file already past maxSize is rotated now.
func Open(path string, maxSize int64, keep int) (*Writer, error) {
	if maxSize <= 0 {
		maxSize = DefaultMaxSize
	}
	if keep <= 0 {
		keep = DefaultKeep
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return nil, fmt.Errorf("logfile: %w", err)
	}
	w := &Writer{path: path, maxSize: maxSize, keep: keep}
	if err := w.open(); err != nil {
		return nil, err
	}
	if w.size >= maxSize {
		if err := w.rotate(); err != nil {
			w.f.Close()
			return nil, err
		}
	}
	return w, nil
}

// Path is the file written to.
func (w *Writer) Path() string { return w.path }

func (w *Writer) open() error {
	f, err := os.OpenFile(w.path, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		return fmt.Errorf("logfile: %w", err)
	}
	fi, err := f.Stat()
	if err != nil {
		f.Close()
		return fmt.Errorf("logfile: %w", err)
	}
	w.f, w.size = f, fi.Size()
	return nil
}

// Write appends p, rotating first when p would take the file past its
// cap; a p bigger than the cap is split over several files. It always
// reports len(p), nil: what could not be written is dropped and the first
// error kept for Err.
func (w *Writer) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	n := len(p)
	for len(p) > 0 {
		if w.closed {
			w.fail(errors.New("logfile: write after Close"))
			break
		}
		if w.f == nil { // the last rotation could not reopen: try again
			if err := w.open(); err != nil {
				w.fail(err)
				break
			}
		}
		if fi, err := w.f.Stat(); err == nil {
			w.size = fi.Size() // another process may append too
		}
		if w.size > 0 && w.size+int64(len(p)) > w.maxSize {
			if err := w.rotate(); err != nil {
				w.fail(err)
				break
			}
		}
		chunk := p
		if room := w.maxSize - w.size; int64(len(chunk)) > room {
			chunk = chunk[:room]
		}
		k, err := w.f.Write(chunk)
		w.size += int64(k)
		if err != nil {
			w.fail(fmt.Errorf("logfile: %w", err))
			break
		}
		p = p[len(chunk):]
	}
	return n, nil
}

func (w *Writer) fail(err error) {
	if w.err == nil {
		w.err = err
	}
}

// rotate moves the file to .1 (and older ones up) and opens a new one.
// If another process rotated it already, it only reopens the path.
func (w *Writer) rotate() error {
	if mine, err := w.f.Stat(); err == nil {
		if onDisk, err := os.Stat(w.path); err == nil && !os.SameFile(mine, onDisk) {
			w.f.Close()
			if err := w.open(); err != nil {
				w.f = nil
				return err
			}
			if w.size < w.maxSize {
				return nil
			}
		}
	}
	w.f.Close()
	w.f = nil
	old := func(i int) string { return w.path + "." + strconv.Itoa(i) }
	os.Remove(old(w.keep))
	for i := w.keep - 1; i >= 1; i-- {
		if err := os.Rename(old(i), old(i+1)); err != nil && !errors.Is(err, os.ErrNotExist) {
			return fmt.Errorf("logfile: rotate: %w", err)
		}
	}
	if err := os.Rename(w.path, old(1)); err != nil && !errors.Is(err, os.ErrNotExist) {
		return fmt.Errorf("logfile: rotate: %w", err)
	}
	return w.open()
}

// Err is the first error met while writing, if any.
func (w *Writer) Err() error {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.err
}

// Close closes the file. Later writes are dropped (see Err).
func (w *Writer) Close() error {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.closed = true
	if w.f == nil {
		return nil
	}
	err := w.f.Close()
	w.f = nil
	if err != nil {
		return fmt.Errorf("logfile: %w", err)
	}
	return nil
}
