package vault

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	ignore "github.com/sabhiram/go-gitignore"

	"github.com/nook-ai/nook/internal/hint"
)

// Bounded inputs. Add reads only regular files: devices, FIFOs and sockets
// are refused by their type before anything opens them (a FIFO would block
// the reader, /dev/zero never ends). A file is read through a limit (its
// size may lie: /proc files say 0) and parsed and embedded within a time
// limit. Folders are walked following symlinks, each real folder once (a
// symlink loop ends there). Files whose content is not text are skipped
// whatever their name says. Every skip is counted by reason.

// DefaultFileTimeout bounds the time Add spends on one file (reading,
// parsing, embedding) unless told otherwise.
const DefaultFileTimeout = 5 * time.Minute

// Reasons a file is skipped (AddReport.SkippedBy).
const (
	SkipUnsupported   = "unsupported"
	SkipTooLarge      = "too large"
	SkipBinary        = "binary"
	SkipSpecial       = "not a regular file" // a device, FIFO or socket
	SkipSymlinkLoop   = "symlink to a folder already walked"
	SkipBrokenSymlink = "broken symlink"
	SkipTimeout       = "time limit"
)

// maxDepth bounds how deep a walk goes.
const maxDepth = 128

var (
	errSpecial  = errors.New("not a regular file")
	errTooLarge = errors.New("file too large")
	errTimeout  = errors.New("skipped at the per-file time limit")
)

// kindOf names a non-regular file's type for messages.
func kindOf(m fs.FileMode) string {
	switch {
	case m&fs.ModeNamedPipe != 0:
		return "a FIFO"
	case m&fs.ModeSocket != 0:
		return "a socket"
	case m&fs.ModeCharDevice != 0:
		return "a character device"
	case m&fs.ModeDevice != 0:
		return "a block device"
	case m.IsDir():
		return "a folder"
	}
	return "not a regular file"
}

// refuseSpecial is Add's error for a path given explicitly that is not a
// regular file or folder.
func refuseSpecial(path string, m fs.FileMode) error {
	return hint.New(fmt.Errorf("vault: add %s: %w: it is %s", path, errSpecial, kindOf(m)),
		"nook adds regular files and folders only: copy what you want into a file")
}

// readSource reads a regular file of at most limit bytes. It checks the
// type by name first (nothing else is ever opened), opens without
// blocking, and checks again on the open file (a swap meanwhile is
// refused).
func readSource(path string, limit int64) ([]byte, error) {
	fi, err := os.Stat(path)
	if err != nil {
		return nil, err
	}
	if !fi.Mode().IsRegular() {
		return nil, fmt.Errorf("%w: %s", errSpecial, kindOf(fi.Mode()))
	}
	if fi.Size() > limit {
		return nil, errTooLarge
	}
	f, err := os.OpenFile(path, os.O_RDONLY|syscall.O_NONBLOCK|syscall.O_NOCTTY, 0)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	ofi, err := f.Stat()
	if err != nil {
		return nil, err
	}
	if !ofi.Mode().IsRegular() || !os.SameFile(fi, ofi) {
		return nil, fmt.Errorf("%w: it changed while being opened", errSpecial)
	}
	data, err := io.ReadAll(io.LimitReader(f, limit+1))
	if err != nil {
		return nil, err
	}
	if int64(len(data)) > limit {
		return nil, errTooLarge
	}
	return data, nil
}

// walker lists a folder's files for Add.
type walker struct {
	ctx     context.Context
	ig      *ignore.GitIgnore
	seen    map[fileID]bool
	out     []walkFile
	skipped map[string]int
}

type fileID struct{ dev, ino uint64 }

func idOf(fi fs.FileInfo) (fileID, bool) {
	st, ok := fi.Sys().(*syscall.Stat_t)
	if !ok {
		return fileID{}, false
	}
	return fileID{uint64(st.Dev), uint64(st.Ino)}, true
}

// walkFolder lists the regular files under root, minus hidden files and
// folders and what the excludes, root/.gitignore and root/.nookignore
// exclude, following symlinks. skipped counts what it left out by reason
// (not what is hidden or excluded).
func walkFolder(ctx context.Context, root string, excludes []string) ([]walkFile, map[string]int, error) {
	lines := append([]string(nil), excludes...)
	for _, n := range []string{".gitignore", ".nookignore"} {
		if b, err := readSource(filepath.Join(root, n), 1<<20); err == nil {
			lines = append(lines, strings.Split(string(b), "\n")...)
		}
	}
	w := &walker{ctx: ctx, ig: ignore.CompileIgnoreLines(lines...), seen: map[fileID]bool{}, skipped: map[string]int{}}
	fi, err := os.Stat(root)
	if err != nil {
		return nil, nil, fmt.Errorf("vault: add %s: %w", root, err)
	}
	if id, ok := idOf(fi); ok {
		w.seen[id] = true
	}
	if err := w.dir(root, "", 0); err != nil {
		return nil, nil, fmt.Errorf("vault: add %s: %w", root, err)
	}
	return w.out, w.skipped, nil
}

func (w *walker) dir(path, rel string, depth int) error {
	if err := w.ctx.Err(); err != nil {
		return err
	}
	ents, err := os.ReadDir(path)
	if err != nil {
		if rel == "" {
			return err
		}
		return nil // unreadable folders are skipped
	}
	for _, e := range ents {
		name := e.Name()
		if strings.HasPrefix(name, ".") {
			continue
		}
		p := filepath.Join(path, name)
		r := name
		if rel != "" {
			r = rel + "/" + name
		}
		mode := e.Type()
		var fi fs.FileInfo
		if mode&fs.ModeSymlink != 0 {
			if fi, err = os.Stat(p); err != nil {
				if !w.ig.MatchesPath(r) {
					w.skipped[SkipBrokenSymlink]++
				}
				continue
			}
			mode = fi.Mode().Type()
		}
		switch {
		case mode.IsDir():
			if w.ig.MatchesPath(r + "/") {
				continue
			}
			if fi == nil {
				if fi, err = os.Stat(p); err != nil {
					continue
				}
			}
			if id, ok := idOf(fi); ok {
				if w.seen[id] || depth >= maxDepth {
					w.skipped[SkipSymlinkLoop]++
					continue
				}
				w.seen[id] = true
			}
			if err := w.dir(p, r, depth+1); err != nil {
				return err
			}
		case w.ig.MatchesPath(r):
		case mode.IsRegular():
			if fi == nil {
				if fi, err = e.Info(); err != nil {
					continue
				}
			}
			w.out = append(w.out, walkFile{p, fi.Size()})
		default:
			w.skipped[SkipSpecial]++
		}
	}
	return nil
}
