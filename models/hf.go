package models

import (
	"context"
	"encoding/json"
	"fmt"
	"net/url"
	"path"
	"slices"
	"strings"
	"sync/atomic"
	"unicode"
)

// hfFile is one entry of the Hub's tree listing
// (GET /api/models/ORG/REPO/tree/main?recursive=true).
type hfFile struct {
	Type string `json:"type"`
	Path string `json:"path"`
	Size int64  `json:"size"`
	LFS  *struct {
		OID  string `json:"oid"` // sha256 of the content
		Size int64  `json:"size"`
	} `json:"lfs"`
}

func (s *Store) pullHF(ctx context.Context, n Name, fn func(Progress)) (*Model, error) {
	repo := n.Namespace + "/" + n.Model
	fn(Progress{Name: n.Short(), Status: "pulling manifest"})
	raw, err := s.getSmall(ctx, fmt.Sprintf("%s/api/models/%s/tree/main?recursive=true", s.hfURL, repo), "application/json")
	if err != nil {
		return nil, fmt.Errorf("list files of %s: %w", repo, err)
	}
	var files []hfFile
	if err := json.Unmarshal(raw, &files); err != nil {
		return nil, fmt.Errorf("list files of %s: %w", repo, err)
	}
	f, err := pickGGUF(files, n.Tag)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", repo, err)
	}
	if f.LFS == nil {
		return nil, fmt.Errorf("%s: %s has no sha256 in the listing (not an LFS file); nook will not take an unverifiable model", repo, f.Path)
	}
	digest := "sha256:" + strings.ToLower(f.LFS.OID)
	dst, err := blobPath(s.dir, digest)
	if err != nil {
		return nil, fmt.Errorf("%s: %s: %w", repo, f.Path, err)
	}
	size := f.LFS.Size
	if size == 0 {
		size = f.Size
	}
	segs := strings.Split(f.Path, "/")
	for i := range segs {
		segs[i] = url.PathEscape(segs[i])
	}
	job := blobJob{
		url:    fmt.Sprintf("%s/%s/resolve/main/%s", s.hfURL, repo, strings.Join(segs, "/")),
		digest: digest, size: size, dst: dst, done: new(atomic.Int64),
	}
	if err := s.fetchAll(ctx, n, []blobJob{job}, fn); err != nil {
		return nil, err
	}
	return s.writeOwnManifest(n, Layer{MediaType: MediaTypeModel, Digest: digest, Size: size})
}

// pickGGUF chooses the file for a quant tag ("latest": Q4_K_M, else the only
// GGUF). Projector (mmproj) and split files are not models nook loads.
func pickGGUF(files []hfFile, tag string) (hfFile, error) {
	var ggufs []hfFile
	for _, f := range files {
		base := strings.ToLower(path.Base(f.Path))
		if f.Type != "file" || !strings.HasSuffix(base, ".gguf") || strings.Contains(base, "mmproj") {
			continue
		}
		ggufs = append(ggufs, f)
	}
	if len(ggufs) == 0 {
		return hfFile{}, fmt.Errorf("no GGUF files in the repository: %w", ErrNotFound)
	}
	want := tag
	if tag == DefaultTag {
		if len(ggufs) == 1 {
			return ggufs[0], nil
		}
		want = "Q4_K_M"
	}
	var hits []hfFile
	for _, f := range ggufs {
		if hasToken(path.Base(f.Path), want) {
			hits = append(hits, f)
		}
	}
	var quants []string
	for _, f := range ggufs {
		quants = append(quants, quantOf(path.Base(f.Path)))
	}
	slices.Sort(quants)
	quants = slices.Compact(quants)
	switch {
	case len(hits) == 1:
		if isSplit(hits[0].Path) {
			return hfFile{}, fmt.Errorf("%s is split in parts, which nook does not join yet", hits[0].Path)
		}
		return hits[0], nil
	case len(hits) > 1:
		slices.SortFunc(hits, func(a, b hfFile) int { return strings.Compare(a.Path, b.Path) })
		if isSplit(hits[0].Path) {
			return hfFile{}, fmt.Errorf("%s is split in parts, which nook does not join yet", hits[0].Path)
		}
		return hfFile{}, fmt.Errorf("quant %q matches several files (%s, ...)", want, hits[0].Path)
	}
	return hfFile{}, fmt.Errorf("no GGUF file for quant %q (have %s): %w", want, strings.Join(quants, ", "), ErrNotFound)
}

// hasToken reports whether tok appears in name (case-insensitively) between
// non-alphanumeric characters: "Q4_K_M" is in "m-Q4_K_M.gguf", not in "m-IQ4_K_M.gguf".
func hasToken(name, tok string) bool {
	ln, lt := strings.ToLower(name), strings.ToLower(tok)
	for i := 0; ; {
		j := strings.Index(ln[i:], lt)
		if j < 0 {
			return false
		}
		j += i
		before := j == 0 || !isAlnum(rune(ln[j-1]))
		after := j+len(lt) == len(ln) || !isAlnum(rune(ln[j+len(lt)]))
		if before && after {
			return true
		}
		i = j + 1
	}
}

func isAlnum(r rune) bool { return unicode.IsLetter(r) || unicode.IsDigit(r) }

func isSplit(p string) bool { return strings.Contains(strings.ToLower(p), "-of-0") }

// quantOf guesses the quant part of a file name (the last "-" or "." field).
func quantOf(base string) string {
	b := strings.TrimSuffix(base, path.Ext(base))
	if i := strings.LastIndexAny(b, "-."); i >= 0 {
		return b[i+1:]
	}
	return b
}
