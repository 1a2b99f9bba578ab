//go:build unix && !linux

package main

import "os"

// flushData and flushNames make a batch durable as the vault does outside
// Linux: every file fsynced in parallel, then every folder.
func flushData(files []*os.File) error { return fsyncFiles(files) }

func flushNames(dirs []string, _ int) error { return fsyncDirs(dirs) }
