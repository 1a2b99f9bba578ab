// Package atomicfile writes files so that a crash leaves either the old
// file or the new one, never a torn mix: temp file in the same folder,
// write, fsync, rename (or link, for files that must not be replaced),
// fsync the folder. Temp files are created 0600.
//
// Entry points: [Write], [WriteFile], [CreateFile], [SyncDir].
package atomicfile
