package vault

import (
	"context"
	"encoding/json"
	"fmt"
	"path/filepath"
	"slices"
	"sort"
	"time"
)

// Removing documents and tagging ones already held: `nook rm` and `nook
// add --tag` on files the vault has unchanged.

// MatchDocuments lists the documents that RemoveDocuments(paths) would
// remove: for each path, the document of that file, or every document
// under that folder (a relative path is taken from the working folder, and
// need not exist on disk any more). A path that names no document is an
// error wrapping ErrNotFound.
func (v *Vault) MatchDocuments(paths []string) ([]string, error) {
	v.mu.Lock()
	err := v.check()
	v.mu.Unlock()
	if err != nil {
		return nil, err
	}
	seen := map[string]bool{}
	var out []string
	for _, p := range paths {
		keys := v.docsMatching(p)
		if len(keys) == 0 {
			return nil, fmt.Errorf("vault: rm %s: no document there: %w", p, ErrNotFound)
		}
		for _, k := range keys {
			if !seen[k] {
				seen[k] = true
				out = append(out, k)
			}
		}
	}
	sort.Strings(out)
	return out, nil
}

// docsMatching is the documents of path: the key itself (a URL or an
// absolute path), or those at or under its absolute form.
func (v *Vault) docsMatching(p string) []string {
	v.mu.Lock()
	_, exact := v.st.get(nsDoc, p)
	v.mu.Unlock()
	if exact {
		return []string{p}
	}
	abs, err := filepath.Abs(p)
	if err != nil {
		return nil
	}
	return v.docsUnder(abs, nil)
}

// RemoveDocuments removes the documents MatchDocuments(paths) lists from
// the vault, erases their objects from disk and rewrites the index
// snapshot without their text. It returns the documents removed and what
// was erased. When a path names no document nothing is removed.
func (v *Vault) RemoveDocuments(paths []string) ([]string, Erased, error) {
	keys, err := v.MatchDocuments(paths)
	if err != nil {
		return nil, Erased{}, err
	}
	// One removed meanwhile by another process is gone all the same.
	_, erased, err := v.removeDocs(keys)
	if err != nil {
		return nil, erased, err
	}
	v.mu.Lock()
	defer v.mu.Unlock()
	return keys, erased, v.saveSnapshotLocked()
}

// retagged returns a new version of the unchanged document key that also
// carries tags, or nil when it has them all already. Its units and vectors
// are kept: only the object is sealed again.
func (v *Vault) retagged(ctx context.Context, key string, tags []string, t *prepared) (*pendingDoc, error) {
	if len(tags) == 0 {
		return nil, nil
	}
	v.mu.Lock()
	prev, ok := v.st.get(nsDoc, key)
	v.mu.Unlock()
	if !ok {
		return nil, nil
	}
	d, err := v.loadDoc(prev.Ref)
	if err != nil {
		return nil, err
	}
	merged := withTags(d.Tags, tags)
	if len(merged) == len(d.Tags) {
		return nil, nil
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	nd := *d
	nd.Tags = merged
	payload, err := json.Marshal(&nd)
	if err != nil {
		return nil, fmt.Errorf("vault: tag %s: %w", key, err)
	}
	t0, enc := time.Now(), t.encrypt
	ref, staged, err := v.stageObject(kindDoc, payload, &t.encrypt)
	t.write += time.Since(t0) - (t.encrypt - enc)
	if err != nil {
		return nil, err
	}
	return &pendingDoc{key: key, ref: ref, doc: &nd, staged: staged}, nil
}

// withTags is old with the tags of add it lacks appended (a new slice).
func withTags(old, add []string) []string {
	out := slices.Clone(old)
	for _, tg := range add {
		if !slices.Contains(out, tg) {
			out = append(out, tg)
		}
	}
	return out
}

// keptTags is tags with those of the version of source the vault holds
// (ref), so that a changed file keeps the tags it was added with.
func (v *Vault) keptTags(ref string, tags []string) []string {
	d, err := v.loadDoc(ref)
	if err != nil { // damaged or not here yet: only the call's tags
		return tags
	}
	return withTags(d.Tags, tags)
}
