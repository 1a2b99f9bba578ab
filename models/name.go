package models

import (
	"fmt"
	"path/filepath"
	"strings"
)

// Hosts of the two registries nook knows.
const (
	DefaultHost      = "registry.ollama.ai"
	DefaultNamespace = "library"
	DefaultTag       = "latest"
	HFHost           = "hf.co"
)

// Name is a fully qualified model name: host/namespace/model:tag.
type Name struct {
	Host, Namespace, Model, Tag string
}

// ParseName reads the forms Ollama accepts: model, model:tag, ns/model:tag,
// host/ns/model:tag. huggingface.co is spelled hf.co. Missing parts get the
// defaults (registry.ollama.ai, library, latest).
func ParseName(s string) (Name, error) {
	orig := s
	var n Name
	if i := strings.LastIndexByte(s, ':'); i > strings.LastIndexByte(s, '/') {
		n.Tag, s = s[i+1:], s[:i]
	}
	parts := strings.Split(s, "/")
	switch len(parts) {
	case 1:
		n.Model = parts[0]
	case 2:
		n.Namespace, n.Model = parts[0], parts[1]
	case 3:
		n.Host, n.Namespace, n.Model = parts[0], parts[1], parts[2]
	default:
		return Name{}, fmt.Errorf("models: invalid name %q: want [host/][namespace/]model[:tag]", orig)
	}
	switch strings.ToLower(n.Host) {
	case "":
		n.Host = DefaultHost
	case "hf.co", "huggingface.co", "www.huggingface.co":
		n.Host = HFHost
	}
	if n.Namespace == "" {
		n.Namespace = DefaultNamespace
	}
	if n.Tag == "" {
		n.Tag = DefaultTag
	}
	for _, p := range []struct{ what, v string }{{"namespace", n.Namespace}, {"model", n.Model}, {"tag", n.Tag}} {
		if !validPart(p.v, false) {
			return Name{}, fmt.Errorf("models: invalid name %q: bad %s %q", orig, p.what, p.v)
		}
	}
	if !validPart(n.Host, true) {
		return Name{}, fmt.Errorf("models: invalid name %q: bad host %q", orig, n.Host)
	}
	return n, nil
}

func validPart(s string, host bool) bool {
	if s == "" || len(s) > 128 || s == "." || s == ".." || s[0] == '-' {
		return false
	}
	for _, r := range s {
		switch {
		case r >= 'a' && r <= 'z', r >= 'A' && r <= 'Z', r >= '0' && r <= '9', r == '-', r == '_', r == '.':
		case r == ':' && host:
		default:
			return false
		}
	}
	return true
}

// IsHF reports whether the name lives on Hugging Face.
func (n Name) IsHF() bool { return n.Host == HFHost }

// String is the full name.
func (n Name) String() string { return n.Host + "/" + n.Namespace + "/" + n.Model + ":" + n.Tag }

// Short drops the default host and namespace, and the default tag: the way
// Ollama shows names ("llama3.2", "llama3.2:1b", "hf.co/org/repo:Q4_K_M").
func (n Name) Short() string {
	s := n.Model
	if n.Host != DefaultHost {
		s = n.Host + "/" + n.Namespace + "/" + n.Model
	} else if n.Namespace != DefaultNamespace {
		s = n.Namespace + "/" + n.Model
	}
	if n.Tag != DefaultTag {
		s += ":" + n.Tag
	}
	return s
}

// manifestPath is where the name's manifest lives under a store root.
func (n Name) manifestPath(root string) string {
	return filepath.Join(root, "manifests", n.Host, n.Namespace, n.Model, n.Tag)
}
