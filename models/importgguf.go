package models

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"github.com/nook-ai/nook/internal/hint"
)

func sha256Digest(b []byte) string {
	h := sha256.Sum256(b)
	return "sha256:" + hex.EncodeToString(h[:])
}

// Import copies a GGUF file into nook's store under name (default: the file
// name without .gguf, lowercased) and returns the model. The file is checked
// to be GGUF first; the original is left where it is.
func (s *Store) Import(file, name string) (*Model, error) {
	if name == "" {
		name = strings.ToLower(strings.TrimSuffix(filepath.Base(file), filepath.Ext(file)))
	}
	n, err := ParseName(name)
	if err != nil {
		return nil, hint.New(err, "pass --name with a name like my-model or my-model:q4")
	}
	src, err := os.Open(file)
	if err != nil {
		return nil, hint.New(fmt.Errorf("models: import: %w", err), "check the path of the GGUF file")
	}
	defer src.Close()
	if _, err := Inspect(file); err != nil {
		// Inspect says "models: inspect PATH: not a GGUF file: CAUSE".
		return nil, hint.New(fmt.Errorf("models: import %s: not a GGUF file: %w", file, errors.Unwrap(err)), "import takes a .gguf model file")
	}
	blobs := filepath.Join(s.dir, "blobs")
	if err := os.MkdirAll(blobs, 0o755); err != nil {
		return nil, fmt.Errorf("models: import %q: %w", file, err)
	}
	tmp, err := os.CreateTemp(blobs, ".import-*")
	if err != nil {
		return nil, fmt.Errorf("models: import %q: %w", file, err)
	}
	defer os.Remove(tmp.Name())
	h := sha256.New()
	size, err := io.Copy(io.MultiWriter(tmp, h), src)
	if err == nil {
		err = tmp.Sync()
	}
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return nil, fmt.Errorf("models: import %q: %w", file, err)
	}
	digest := "sha256:" + hex.EncodeToString(h.Sum(nil))
	dst, _ := blobPath(s.dir, digest)
	if err := os.Rename(tmp.Name(), dst); err != nil {
		return nil, fmt.Errorf("models: import %q: %w", file, err)
	}
	syncDir(blobs)
	m, err := s.writeOwnManifest(n, Layer{MediaType: MediaTypeModel, Digest: digest, Size: size})
	if err != nil {
		return nil, fmt.Errorf("models: import %q: %w", file, err)
	}
	return m, nil
}
