package vault

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"strings"
)

// AddDocument ingests text that comes from no file (a plugin's resource)
// under source, with tags: the same parsing (by source's extension),
// chunking, embedding, encryption and log entry as Add. It reports whether
// the document was new or changed; the same text under the same source is
// not stored again. Sources must not look like file paths: plugins use
// "plug://<id>/<uri>.md".
//
// The body follows prepare (ingest.go) for bytes in memory; the two could
// share it.
func (v *Vault) AddDocument(ctx context.Context, source string, text []byte, tags []string) (bool, error) {
	if !strings.Contains(source, "://") {
		return false, fmt.Errorf("vault: add document %q: the source must be a URI (scheme://...)", source)
	}
	v.mu.Lock()
	err := v.check()
	v.mu.Unlock()
	if err != nil {
		return false, err
	}
	if int64(len(text)) > DefaultMaxFileSize {
		return false, fmt.Errorf("vault: add document %q: %d bytes is more than %d", source, len(text), DefaultMaxFileSize)
	}
	format := formatOf(source, text)
	if format == "" {
		format = fmtText
	}
	sum := sha256.Sum256(text)
	hash := hex.EncodeToString(sum[:])
	v.mu.Lock()
	prev, had := v.state[nsDoc][source]
	v.mu.Unlock()
	if had && prev.Hash == hash+":"+v.opts.embedModel {
		return false, nil
	}
	blocks, err := parse(format, text)
	if err != nil {
		return false, fmt.Errorf("vault: add document %q: %w", source, err)
	}
	chunks := chunkBlocks(blocks, 0)
	if v.opts.embedder != nil && len(chunks) > 0 {
		const batch = 32
		for i := 0; i < len(chunks); i += batch {
			j := min(i+batch, len(chunks))
			texts := make([]string, 0, j-i)
			for _, c := range chunks[i:j] {
				texts = append(texts, embedText(indexText(source, c.Heading, c.Text)))
			}
			vecs, err := v.opts.embedder.Embed(ctx, texts)
			if err != nil {
				return false, fmt.Errorf("vault: embed %q: %w", source, err)
			}
			if len(vecs) != len(texts) {
				return false, fmt.Errorf("vault: embed %q: %d vectors for %d texts", source, len(vecs), len(texts))
			}
			for k := range vecs {
				chunks[i+k].Vec = vecs[k]
			}
		}
	}
	d := &docObject{Path: source, Hash: hash, Model: v.opts.embedModel, Size: int64(len(text)), Format: format, Tags: tags, Chunks: chunks}
	payload, err := json.Marshal(d)
	if err != nil {
		return false, fmt.Errorf("vault: add document %q: %w", source, err)
	}
	ref, err := v.putObject(kindDoc, payload)
	if err != nil {
		return false, err
	}
	if err := v.commitDocs([]pendingDoc{{key: source, ref: ref, doc: d, new: !had}}); err != nil {
		return false, err
	}
	v.mu.Lock()
	defer v.mu.Unlock()
	if err := v.saveSnapshotLocked(); err != nil {
		return false, err
	}
	return true, nil
}
