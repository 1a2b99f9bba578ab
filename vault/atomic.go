package vault

import "github.com/nook-ai/nook/internal/atomicfile"

// writeFileAtomic replaces path with data (temp file, fsync, rename, fsync
// the folder). data must already be ciphertext (or the plaintext VAULT
// header): nothing else ever reaches the disk.
func writeFileAtomic(path string, data []byte) error {
	return atomicfile.WriteFile(path, data, 0o700)
}

// createFileAtomic is writeFileAtomic that fails with os.ErrExist when path
// already exists (log entries are never overwritten).
func createFileAtomic(path string, data []byte) error {
	return atomicfile.CreateFile(path, data, 0o700)
}

func syncDir(dir string) error { return atomicfile.SyncDir(dir) }
