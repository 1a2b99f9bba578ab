package vault

import (
	"context"
	"fmt"
	"strings"
	"time"
)

// AddDocument ingests text that comes from no file (a plugin's resource)
// under source, with tags: the same parsing (by source's extension),
// chunking, embedding, encryption and log entry as Add. It reports whether
// the document was new or changed; the same text under the same source is
// not stored again. Sources must not look like file paths: plugins use
// "plug://<id>/<uri>.md".
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
	var embedTime time.Duration
	d, payload, had, unchanged, err := v.docFor(ctx, source, text, format, 0, tags, &embedTime)
	if err != nil || unchanged {
		return false, err
	}
	ref, err := v.putObject(kindDoc, payload)
	if err != nil {
		return false, err
	}
	if _, err := v.commitDocs([]pendingDoc{{key: source, ref: ref, doc: d, new: !had}}); err != nil {
		return false, err
	}
	v.mu.Lock()
	defer v.mu.Unlock()
	if err := v.saveSnapshotLocked(); err != nil {
		return false, err
	}
	return true, nil
}
