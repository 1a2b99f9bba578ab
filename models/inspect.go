package models

import (
	"cmp"
	"fmt"
	"maps"
	"os"
	"slices"
	"strings"

	"github.com/ollama/ollama/fs/ggml"
)

// Info is what the GGUF header says about a model (no weights are read).
type Info struct {
	Family        string // general.architecture
	Params        uint64 // parameter count (from the header, else summed over tensors)
	Quant         string // file type (Q4_K_M, F16, ...) or the dominant tensor type
	ContextLength uint64
	EmbeddingLen  uint64
	Blocks        uint64
	Tensors       int
	ChatTemplate  string
	License       string         // general.license
	Name          string         // general.name
	KV            map[string]any // scalar metadata; arrays are summarised
	kv            ggml.KV
}

// Inspect reads the GGUF header of the file at path.
func Inspect(path string) (*Info, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("models: inspect %s: %w", path, err)
	}
	defer f.Close()
	g, err := ggml.Decode(f, 0)
	if err != nil {
		return nil, fmt.Errorf("models: inspect %s: not a GGUF file: %w", path, err)
	}
	kv := g.KV()
	info := &Info{
		Family:        kv.Architecture(),
		Params:        kv.ParameterCount(),
		ContextLength: kv.ContextLength(),
		EmbeddingLen:  kv.EmbeddingLength(),
		Blocks:        kv.BlockCount(),
		ChatTemplate:  kv.ChatTemplate(),
		License:       kv.String("general.license"),
		Name:          kv.String("general.name"),
		KV:            map[string]any{},
		kv:            kv,
	}
	ts := g.Tensors().Items()
	info.Tensors = len(ts)
	byType := map[string]uint64{}
	var total uint64
	for _, t := range ts {
		e := t.Elements()
		total += e
		// Token embeddings and norms are often kept wider; weigh the rest.
		if len(t.Shape) > 1 && !strings.HasPrefix(t.Name, "token_embd") && !strings.HasPrefix(t.Name, "output.") {
			byType[t.Type()] += e
		}
	}
	if info.Params == 0 {
		info.Params = total
	}
	if ft := kv.FileType(); ft != ggml.FileTypeUnknown && ft.String() != "unknown" {
		info.Quant = ft.String()
	} else if len(byType) > 0 {
		info.Quant = slices.MaxFunc(slices.Collect(maps.Keys(byType)), func(a, b string) int {
			return cmp.Or(cmp.Compare(byType[a], byType[b]), cmp.Compare(b, a))
		})
	} else if _, ok := kv["general.file_type"]; ok && kv.Uint("general.file_type") == 0 {
		info.Quant = "F32"
	}
	for k, v := range kv {
		switch v.(type) {
		case string, bool, uint8, int8, uint16, int16, uint32, int32, uint64, int64, float32, float64:
			info.KV[k] = v
		default:
			info.KV[k] = "[array]"
		}
	}
	return info, nil
}

// ParamsString is the parameter count the way Ollama prints it (1.2B, 260K).
func (i *Info) ParamsString() string {
	if i.Params == 0 {
		return ""
	}
	b := float64(i.Params)
	switch {
	case b >= 1e9:
		return trimFloat(b/1e9) + "B"
	case b >= 1e6:
		return trimFloat(b/1e6) + "M"
	case b >= 1e3:
		return fmt.Sprintf("%.0fK", b/1e3)
	}
	return fmt.Sprint(i.Params)
}

func trimFloat(f float64) string {
	s := fmt.Sprintf("%.1f", f)
	return strings.TrimSuffix(s, ".0")
}

// IsEmbedding reports whether the model is an embedding model (BERT-like
// architectures or a pooling type in the header).
func (i *Info) IsEmbedding() bool {
	switch i.Family {
	case "bert", "nomic-bert", "jina-bert-v2", "t5encoder":
		return true
	}
	_, pooling := i.kv[i.Family+".pooling_type"]
	return pooling
}

// Details is a model plus its header and text layers, for `nook models show`.
type Details struct {
	*Model
	Info     *Info
	Template string // the template layer, else the GGUF chat template
	System   string
	Params   string // the params layer (JSON)
	License  string // license layer(s), else general.license
}

// Show reads a model's GGUF header and its text layers.
func (s *Store) Show(name string) (*Details, error) {
	m, err := s.lookup(name)
	if err != nil {
		return nil, err
	}
	info, err := Inspect(m.Path)
	if err != nil {
		return nil, fmt.Errorf("models: show %q: %w", name, err)
	}
	d := &Details{Model: m, Info: info}
	var lic []string
	for _, l := range m.Manifest.Layers {
		var dst *string
		switch l.MediaType {
		case MediaTypeTemplate:
			dst = &d.Template
		case MediaTypeSystem:
			dst = &d.System
		case MediaTypeParams:
			dst = &d.Params
		case MediaTypeLicense:
		default:
			continue
		}
		if l.Size > 1<<20 {
			continue
		}
		p, err := blobPath(m.Root, l.Digest)
		if err != nil {
			continue
		}
		b, err := os.ReadFile(p)
		if err != nil {
			continue
		}
		if dst == nil {
			lic = append(lic, string(b))
		} else {
			*dst = string(b)
		}
	}
	if d.Template == "" {
		d.Template = info.ChatTemplate
	}
	d.License = strings.Join(lic, "\n\n")
	if d.License == "" {
		d.License = info.License
	}
	return d, nil
}
