package main

import (
	"os"

	"golang.org/x/sys/unix"
)

// batchSyncfs is the vault's threshold (vault/flush_linux.go): a batch of
// at least this many files is made durable with syncfs, a smaller one
// with an fsync per file and per folder.
const batchSyncfs = 8

// flushData makes a batch of written files durable as the vault does on
// Linux: one syncfs of their file system.
func flushData(files []*os.File) error {
	if len(files) < batchSyncfs {
		return fsyncFiles(files)
	}
	return unix.Syncfs(int(files[0].Fd()))
}

// flushNames makes the batch's renames durable: syncfs again.
func flushNames(dirs []string, files int) error {
	if files < batchSyncfs {
		return fsyncDirs(dirs)
	}
	d, err := os.Open(dirs[0])
	if err != nil {
		return err
	}
	defer d.Close()
	return unix.Syncfs(int(d.Fd()))
}
