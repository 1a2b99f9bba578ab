package models

import (
	"encoding/hex"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/nook-ai/nook/internal/atomicfile"
)

// Media types of manifests and layers (Docker distribution v2, Ollama layers).
const (
	MediaTypeManifest  = "application/vnd.docker.distribution.manifest.v2+json"
	MediaTypeConfig    = "application/vnd.docker.container.image.v1+json"
	MediaTypeModel     = "application/vnd.ollama.image.model"
	MediaTypeProjector = "application/vnd.ollama.image.projector"
	MediaTypeAdapter   = "application/vnd.ollama.image.adapter"
	MediaTypeTemplate  = "application/vnd.ollama.image.template"
	MediaTypeSystem    = "application/vnd.ollama.image.system"
	MediaTypeParams    = "application/vnd.ollama.image.params"
	MediaTypeLicense   = "application/vnd.ollama.image.license"
	MediaTypeMessages  = "application/vnd.ollama.image.messages"
)

// Layer is one blob a manifest names.
type Layer struct {
	MediaType string `json:"mediaType"`
	Digest    string `json:"digest"`
	Size      int64  `json:"size"`
	From      string `json:"from,omitempty"`
}

// Manifest is the image manifest stored per name.
type Manifest struct {
	SchemaVersion int     `json:"schemaVersion"`
	MediaType     string  `json:"mediaType"`
	Config        Layer   `json:"config"`
	Layers        []Layer `json:"layers"`
}

// all returns the config (when present) and the layers.
func (m *Manifest) all() []Layer {
	out := make([]Layer, 0, len(m.Layers)+1)
	if m.Config.Digest != "" {
		out = append(out, m.Config)
	}
	return append(out, m.Layers...)
}

// layer returns the first layer of the media type.
func (m *Manifest) layer(mediaType string) (Layer, bool) {
	for _, l := range m.Layers {
		if l.MediaType == mediaType {
			return l, true
		}
	}
	return Layer{}, false
}

// Size is the total of all blobs.
func (m *Manifest) Size() int64 {
	var n int64
	for _, l := range m.all() {
		n += l.Size
	}
	return n
}

func parseManifest(b []byte) (*Manifest, error) {
	var m Manifest
	if err := json.Unmarshal(b, &m); err != nil {
		return nil, fmt.Errorf("bad manifest: %w", err)
	}
	if m.SchemaVersion != 2 {
		return nil, fmt.Errorf("bad manifest: schema version %d, want 2", m.SchemaVersion)
	}
	for _, l := range m.all() {
		if _, err := digestHex(l.Digest); err != nil {
			return nil, fmt.Errorf("bad manifest: %w", err)
		}
		if l.Size < 0 {
			return nil, fmt.Errorf("bad manifest: layer %s has size %d", l.Digest, l.Size)
		}
	}
	if _, ok := m.layer(MediaTypeModel); !ok {
		return nil, fmt.Errorf("bad manifest: no model layer (%s)", MediaTypeModel)
	}
	return &m, nil
}

func readManifest(path string) (*Manifest, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	return parseManifest(b)
}

// digestHex checks "sha256:<64 lowercase hex>" and returns the hex.
func digestHex(d string) (string, error) {
	h, ok := strings.CutPrefix(d, "sha256:")
	if !ok || len(h) != 64 || strings.ToLower(h) != h {
		return "", fmt.Errorf("invalid digest %q", d)
	}
	if _, err := hex.DecodeString(h); err != nil {
		return "", fmt.Errorf("invalid digest %q", d)
	}
	return h, nil
}

// blobPath is the file of a digest under a store root (Ollama's naming).
func blobPath(root, digest string) (string, error) {
	h, err := digestHex(digest)
	if err != nil {
		return "", err
	}
	return filepath.Join(root, "blobs", "sha256-"+h), nil
}

// writeFileAtomic writes data to path through a temp file, fsync and rename.
func writeFileAtomic(path string, data []byte) error {
	return atomicfile.WriteFile(path, data, 0o755)
}

// syncDir makes new names in dir durable; a failure only weakens that, so
// callers go on.
func syncDir(dir string) { _ = atomicfile.SyncDir(dir) }
