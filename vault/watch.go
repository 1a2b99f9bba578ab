package vault

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/fsnotify/fsnotify"
)

// Watch keeps root in sync: it runs Add(root) once, then again after each
// burst of file-system events (debounced by settle, default 300 ms), until
// ctx ends. report is called after each pass. A root that is not a
// folder is an error at once (wrapping fs.ErrNotExist when it is missing),
// and so is a root removed while watched, after the pass that drops its
// documents.
func (v *Vault) Watch(ctx context.Context, root string, o AddOptions, settle time.Duration, report func(AddReport, error)) error {
	if settle <= 0 {
		settle = 300 * time.Millisecond
	}
	abs, err := filepath.Abs(root)
	if err != nil {
		return fmt.Errorf("vault: watch %q: %w", root, err)
	}
	if fi, err := os.Stat(abs); err != nil {
		return fmt.Errorf("vault: watch %w", err)
	} else if !fi.IsDir() {
		return fmt.Errorf("vault: watch %s: not a folder", abs)
	}
	w, err := fsnotify.NewWatcher()
	if err != nil {
		return fmt.Errorf("vault: watch %s: %w", abs, err)
	}
	defer w.Close()
	addDirs := func(dir string) {
		filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
			if err != nil || !d.IsDir() {
				return nil
			}
			if p != abs && strings.HasPrefix(d.Name(), ".") {
				return filepath.SkipDir
			}
			w.Add(p)
			return nil
		})
	}
	addDirs(abs)
	pass := func() {
		rep, err := v.Add(ctx, []string{abs}, o)
		if report != nil && !errors.Is(err, context.Canceled) {
			report(rep, err)
		}
	}
	pass()
	var timer *time.Timer
	var fire <-chan time.Time
	for {
		select {
		case <-ctx.Done():
			return nil
		case ev, ok := <-w.Events:
			if !ok {
				return nil
			}
			if ev.Has(fsnotify.Create) {
				addDirs(ev.Name) // new folders are watched too
			}
			if timer == nil {
				timer = time.NewTimer(settle)
			} else {
				timer.Reset(settle)
			}
			fire = timer.C
		case err, ok := <-w.Errors:
			if !ok {
				return nil
			}
			if report != nil {
				report(AddReport{}, fmt.Errorf("vault: watch %s: %w", abs, err))
			}
		case <-fire:
			fire = nil
			pass()
			if _, err := os.Stat(abs); errors.Is(err, fs.ErrNotExist) {
				return fmt.Errorf("vault: watch %s: the folder was removed: %w", abs, err)
			}
		}
	}
}
