package plugins

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net/http"
	"os"
	"path/filepath"
	"sort"
	"strings"
)

// Store is the folder of installed plugins ($NOOK_HOME/plugins): one folder
// per plugin id holding its plugin.toml (and, for most, its program).
type Store struct {
	Dir string
	// HTTPClient fetches manifests for Install from a URL (default
	// http.DefaultClient).
	HTTPClient *http.Client
}

// List loads every installed plugin. Plugins whose manifest does not load
// or verify are left out and reported in problems.
func (s Store) List() (ms []*Manifest, problems []error) {
	ents, err := os.ReadDir(s.Dir)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return nil, nil
		}
		return nil, []error{fmt.Errorf("plugins: %w", err)}
	}
	for _, e := range ents {
		if !e.IsDir() || strings.HasPrefix(e.Name(), ".") {
			continue
		}
		m, err := LoadManifest(filepath.Join(s.Dir, e.Name(), ManifestFile))
		if err != nil {
			problems = append(problems, err)
			continue
		}
		if m.ID != e.Name() {
			problems = append(problems, fmt.Errorf("plugins: folder %q holds plugin %q; reinstall it with `nook plug add`", e.Name(), m.ID))
			continue
		}
		ms = append(ms, m)
	}
	sort.Slice(ms, func(i, j int) bool { return ms[i].ID < ms[j].ID })
	return ms, problems
}

// Get loads one installed plugin.
func (s Store) Get(id string) (*Manifest, error) {
	if !idRE.MatchString(id) {
		return nil, fmt.Errorf("plugins: %q: %w", id, ErrNotFound)
	}
	dir := filepath.Join(s.Dir, id)
	if _, err := os.Stat(dir); errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("plugins: %q: %w", id, ErrNotFound)
	}
	return LoadManifest(dir)
}

// Install adds the plugin at src: a folder holding plugin.toml (the whole
// folder is copied), a plugin.toml file (copied with the files beside it),
// or an http(s) URL of a plugin.toml (for a URL or PATH plugin). The
// manifest's signature, and that the program is the one it covers, are
// verified before anything is written, and the program again once copied;
// an installed plugin of the same id is replaced.
func (s Store) Install(ctx context.Context, src string) (*Manifest, error) {
	if strings.HasPrefix(src, "http://") || strings.HasPrefix(src, "https://") {
		return s.installURL(ctx, src)
	}
	m, err := LoadManifest(src)
	if err != nil {
		return nil, err
	}
	if _, err := m.VerifyProgram(); err != nil {
		return nil, err
	}
	if err := s.replace(m.ID, func(dst string) error {
		if err := copyDir(m.Dir, dst); err != nil {
			return err
		}
		copied := *m
		copied.Dir = dst
		_, err := copied.VerifyProgram()
		return err
	}); err != nil {
		return nil, err
	}
	return s.Get(m.ID)
}

func (s Store) installURL(ctx context.Context, u string) (*Manifest, error) {
	c := s.HTTPClient
	if c == nil {
		c = http.DefaultClient
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return nil, fmt.Errorf("plugins: add %s: %w", u, err)
	}
	resp, err := c.Do(req)
	if err != nil {
		return nil, fmt.Errorf("plugins: add %s: %w", u, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("plugins: add %s: %s", u, resp.Status)
	}
	data, err := io.ReadAll(io.LimitReader(resp.Body, maxManifestSize+1))
	if err != nil {
		return nil, fmt.Errorf("plugins: add %s: %w", u, err)
	}
	m, err := ParseManifest(data)
	if err != nil {
		return nil, err
	}
	if err := m.Verify(); err != nil {
		return nil, err
	}
	if m.Run.Command != "" && (strings.ContainsRune(m.Run.Command, '/') && !filepath.IsAbs(m.Run.Command)) {
		return nil, fmt.Errorf("plugins: add %s: its command %q is a file beside the manifest; download the plugin's folder and add that", u, m.Run.Command)
	}
	if _, err := m.VerifyProgram(); err != nil {
		return nil, err
	}
	if err := s.replace(m.ID, func(dst string) error {
		return os.WriteFile(filepath.Join(dst, ManifestFile), data, 0o600)
	}); err != nil {
		return nil, err
	}
	return s.Get(m.ID)
}

// replace fills a new folder with fill, then swaps it in for id's.
func (s Store) replace(id string, fill func(dst string) error) error {
	if err := os.MkdirAll(s.Dir, 0o700); err != nil {
		return fmt.Errorf("plugins: %w", err)
	}
	tmp, err := os.MkdirTemp(s.Dir, ".add-"+id+"-")
	if err != nil {
		return fmt.Errorf("plugins: %w", err)
	}
	defer os.RemoveAll(tmp)
	if err := fill(tmp); err != nil {
		return fmt.Errorf("plugins: add %s: %w", id, err)
	}
	final := filepath.Join(s.Dir, id)
	old := final + ".old"
	os.RemoveAll(old)
	if err := os.Rename(final, old); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("plugins: add %s: %w", id, err)
	}
	if err := os.Rename(tmp, final); err != nil {
		os.Rename(old, final)
		return fmt.Errorf("plugins: add %s: %w", id, err)
	}
	os.RemoveAll(old)
	return nil
}

// Remove deletes an installed plugin's folder.
func (s Store) Remove(id string) error {
	if _, err := s.Get(id); err != nil && errors.Is(err, ErrNotFound) {
		return err
	}
	if err := os.RemoveAll(filepath.Join(s.Dir, id)); err != nil {
		return fmt.Errorf("plugins: rm %s: %w", id, err)
	}
	return nil
}

// copyDir copies the regular files and folders of src into dst (which
// exists), keeping permission bits; links and hidden entries are skipped.
func copyDir(src, dst string) error {
	return filepath.WalkDir(src, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, err := filepath.Rel(src, p)
		if err != nil || rel == "." {
			return err
		}
		if strings.HasPrefix(d.Name(), ".") {
			if d.IsDir() {
				return filepath.SkipDir
			}
			return nil
		}
		target := filepath.Join(dst, rel)
		if d.IsDir() {
			return os.MkdirAll(target, 0o700)
		}
		if !d.Type().IsRegular() {
			return nil
		}
		fi, err := d.Info()
		if err != nil {
			return err
		}
		in, err := os.Open(p)
		if err != nil {
			return err
		}
		defer in.Close()
		out, err := os.OpenFile(target, os.O_CREATE|os.O_EXCL|os.O_WRONLY, fi.Mode().Perm()&0o700)
		if err != nil {
			return err
		}
		if _, err := io.Copy(out, in); err != nil {
			out.Close()
			return err
		}
		return out.Close()
	})
}
