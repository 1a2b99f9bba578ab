package atomicfile

import (
	"bufio"
	"fmt"
	"io"
	"os"
	"path/filepath"

	"github.com/nook-ai/nook/internal/crashpoint"
)

// Write creates path's folder (with dirPerm) if needed and replaces path
// with what fill writes.
func Write(path string, dirPerm os.FileMode, fill func(w io.Writer) error) error {
	return write(path, dirPerm, false, fill)
}

// WriteFile replaces path with data.
func WriteFile(path string, data []byte, dirPerm os.FileMode) error {
	return write(path, dirPerm, false, func(w io.Writer) error { _, err := w.Write(data); return err })
}

// CreateFile writes data to path, failing with an error wrapping
// os.ErrExist if path already exists: it never replaces a file.
func CreateFile(path string, data []byte, dirPerm os.FileMode) error {
	return write(path, dirPerm, true, func(w io.Writer) error { _, err := w.Write(data); return err })
}

func write(path string, dirPerm os.FileMode, exclusive bool, fill func(w io.Writer) error) (err error) {
	dir := filepath.Dir(path)
	if err := os.MkdirAll(dir, dirPerm); err != nil {
		return err
	}
	tmp, err := os.CreateTemp(dir, ".tmp-*")
	if err != nil {
		return err
	}
	crashpoint.Hit("atomicfile: created")
	name := tmp.Name()
	defer func() {
		if err != nil {
			tmp.Close()
			os.Remove(name)
		}
	}()
	bw := bufio.NewWriterSize(tmp, 1<<20)
	if err = fill(bw); err != nil {
		return err
	}
	if err = bw.Flush(); err != nil {
		return err
	}
	crashpoint.Hit("atomicfile: written")
	if err = tmp.Sync(); err != nil {
		return err
	}
	crashpoint.Hit("atomicfile: synced")
	if err = tmp.Close(); err != nil {
		return err
	}
	if exclusive {
		if err = os.Link(name, path); err != nil {
			return err
		}
		os.Remove(name)
	} else if err = os.Rename(name, path); err != nil {
		return err
	}
	crashpoint.Hit("atomicfile: renamed")
	if err := SyncDir(dir); err != nil {
		return err
	}
	crashpoint.Hit("atomicfile: folder synced")
	return nil
}

// SyncDir fsyncs a folder so that renames and new names in it are durable.
func SyncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	if err := d.Sync(); err != nil {
		return fmt.Errorf("sync %s: %w", dir, err)
	}
	return nil
}
