package vault

import (
	"errors"
	"fmt"
	"os"
	"sync"

	"golang.org/x/sys/unix"
)

// flushData makes the staged files' contents durable. For a batch it is
// one syncfs of each file system they are on, called on the file opened
// first there: syncfs reports a write-back error of that file system
// since its file descriptor was opened (Linux 5.8 and later), so any error
// of any file in the batch is seen. Older kernels, whose syncfs reports no
// write-back error, and small batches fsync every file.
func flushData(objs []*stagedObject) error {
	if len(objs) < syncfsMin || !syncfsReportsErrors() {
		return fsyncAll(objs)
	}
	oldest := map[uint64]*stagedObject{} // file system → its first file
	for _, o := range objs {
		var st unix.Stat_t
		if err := unix.Fstat(int(o.f.Fd()), &st); err != nil {
			return fmt.Errorf("stat %s: %w", o.f.Name(), err)
		}
		if first := oldest[st.Dev]; first == nil || o.seq < first.seq {
			oldest[st.Dev] = o
		}
	}
	var errs []error
	for _, o := range oldest {
		if err := syncfs(o.f); err != nil {
			errs = append(errs, fmt.Errorf("syncfs %s: %w", o.f.Name(), err))
		}
	}
	return errors.Join(errs...)
}

// flushNames makes the batch's renames durable: a second syncfs when the
// data went that way (the files were many), else one fsync per folder.
func flushNames(dirs []string, files int) error {
	if files < syncfsMin || !syncfsReportsErrors() {
		return syncDirs(dirs)
	}
	devs := map[uint64]string{}
	for _, d := range dirs {
		var st unix.Stat_t
		if err := unix.Stat(d, &st); err != nil {
			return fmt.Errorf("stat %s: %w", d, err)
		}
		devs[st.Dev] = d
	}
	var errs []error
	for _, d := range devs {
		f, err := os.Open(d)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		if err := syncfs(f); err != nil {
			errs = append(errs, fmt.Errorf("syncfs %s: %w", d, err))
		}
		f.Close()
	}
	return errors.Join(errs...)
}

func syncfs(f *os.File) error {
	rc, err := f.SyscallConn()
	if err != nil {
		return err
	}
	var serr error
	if err := rc.Control(func(fd uintptr) {
		for {
			if serr = unix.Syncfs(int(fd)); serr != unix.EINTR {
				return
			}
		}
	}); err != nil {
		return err
	}
	return serr
}

// syncfsReportsErrors: Linux 5.8 made syncfs return write-back errors.
var syncfsReportsErrors = sync.OnceValue(func() bool {
	var u unix.Utsname
	if unix.Uname(&u) != nil {
		return false
	}
	var major, minor int
	if _, err := fmt.Sscanf(unix.ByteSliceToString(u.Release[:]), "%d.%d", &major, &minor); err != nil {
		return false
	}
	return major > 5 || major == 5 && minor >= 8
})
