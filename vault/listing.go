package vault

import (
	"slices"
	"sort"
	"strings"
)

// Listings for front ends that serve the vault to other programs (`nook
// serve`): which documents there are, which secrets under a prefix, and
// catching up with what other processes wrote.

// SourceInfo is one document of the vault, as ListSources returns it.
type SourceInfo struct {
	Source string   `json:"source"`
	Tags   []string `json:"tags,omitempty"`
	Chunks int      `json:"chunks"`
	Lines  int      `json:"lines"` // the last line any chunk covers
}

// ListSources returns the vault's documents sorted by source; with tag, only
// the documents added with that tag.
func (v *Vault) ListSources(tag string) ([]SourceInfo, error) {
	v.mu.Lock()
	defer v.mu.Unlock()
	if err := v.check(); err != nil {
		return nil, err
	}
	out := []SourceInfo{}
	for _, d := range v.idx.docs {
		var si SourceInfo
		for _, s := range d.Slots {
			c := &v.idx.chunks[s]
			if c.Source == "" {
				continue
			}
			if si.Chunks == 0 {
				si.Source, si.Tags = c.Source, slices.Clone(c.Tags)
			}
			si.Chunks++
			si.Lines = max(si.Lines, c.End)
		}
		if si.Chunks == 0 || tag != "" && !slices.Contains(si.Tags, tag) {
			continue
		}
		out = append(out, si)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Source < out[j].Source })
	return out, nil
}

// SecretNames returns the names of the secrets that start with prefix,
// sorted.
func (v *Vault) SecretNames(prefix string) ([]string, error) {
	v.mu.Lock()
	defer v.mu.Unlock()
	if err := v.check(); err != nil {
		return nil, err
	}
	var out []string
	for _, k := range v.st.keys(nsSecret) {
		if strings.HasPrefix(k, prefix) {
			out = append(out, k)
		}
	}
	sort.Strings(out)
	return out, nil
}

// Refresh applies what other processes (another nook command, sync) wrote
// to the vault since this handle last looked; a long-running process calls
// it before answering from the vault. Writes through this handle catch up
// by themselves.
func (v *Vault) Refresh() error {
	v.mu.Lock()
	defer v.mu.Unlock()
	if err := v.check(); err != nil {
		return err
	}
	return v.catchUp()
}
