//go:build !linux

package vault

// flushData makes the staged files' contents durable: every file fsynced,
// in parallel so that the file system commits them together.
func flushData(objs []*stagedObject) error { return fsyncAll(objs) }

// flushNames makes the batch's renames durable: each folder fsynced once.
func flushNames(dirs []string, _ int) error { return syncDirs(dirs) }
