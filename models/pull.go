package models

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"sync/atomic"
	"time"

	"github.com/nook-ai/nook/internal/hint"
)

// Progress is a pull's state, reported a few times a second.
type Progress struct {
	Name      string // the model's short name
	Status    string // "pulling manifest", "downloading", "verifying", "done", "in ollama store"
	Total     int64  // bytes of all blobs
	Completed int64  // bytes on disk (verified or in flight)
}

// Pull fetches a model into nook's store and returns it. Names on hf.co come
// from the Hugging Face Hub, all others from the Ollama registry (or the
// mirror set with WithRegistry). A name already in an Ollama store is used in
// place: nothing is downloaded. progress gets a progress bar when it is a
// terminal; any other writer gets a plain line when the download starts, one
// every 10 seconds and one at the end; nil gets nothing.
func (s *Store) Pull(ctx context.Context, name string, progress io.Writer) (*Model, error) {
	bar := newBar(progress)
	defer bar.finish()
	return s.PullFunc(ctx, name, bar.update)
}

// PullFunc is Pull with a progress callback (nil: none).
func (s *Store) PullFunc(ctx context.Context, name string, fn func(Progress)) (*Model, error) {
	n, err := ParseName(name)
	if err != nil {
		return nil, hint.New(err, "model names look like llama3.2, llama3.2:1b or hf.co/ORG/REPO:Q4_K_M")
	}
	m, err := s.pullName(ctx, n, fn)
	if err != nil {
		return nil, pullHint(name, fmt.Errorf("models: pull %q: %w", name, err))
	}
	return m, nil
}

// pullName is PullFunc for a parsed name; its errors do not name the model.
func (s *Store) pullName(ctx context.Context, n Name, fn func(Progress)) (*Model, error) {
	if fn == nil {
		fn = func(Progress) {}
	}
	// A name only in an Ollama store is used in place; one in nook's own
	// store is pulled again (an update fetches only changed blobs).
	_, ownErr := s.load("nook", s.dir, n)
	for _, r := range s.roots()[1:] {
		if ownErr == nil {
			break
		}
		if m, err := s.load(r.kind, r.dir, n); err == nil {
			if _, err := os.Stat(m.Path); err == nil {
				fn(Progress{Name: n.Short(), Status: "in ollama store", Total: m.Size, Completed: m.Size})
				return m, nil
			}
		}
	}
	var m *Model
	var err error
	if n.IsHF() {
		m, err = s.pullHF(ctx, n, fn)
	} else {
		m, err = s.pullOllama(ctx, n, fn)
	}
	if err != nil {
		return nil, err
	}
	fn(Progress{Name: n.Short(), Status: "done", Total: m.Size, Completed: m.Size})
	return m, nil
}

func pullHint(name string, err error) error {
	switch {
	case errors.Is(err, ErrUnreachable):
		return hint.New(err, "check the network, set NOOK_REGISTRY (or NOOK_HF_REGISTRY) to a reachable mirror, or set NOOK_MODEL to a GGUF file")
	case errors.Is(err, ErrStalled):
		return hint.New(err, fmt.Sprintf("the server stopped sending; run `nook pull %s` again to resume where it stopped", name))
	case errors.Is(err, ErrDigestMismatch):
		return hint.New(err, fmt.Sprintf("the bad download was removed; run `nook pull %s` again, and if it repeats the registry or mirror serves a corrupt file", name))
	case errors.Is(err, ErrNotFound):
		return hint.New(err, "check the name (ollama.com/library, or hf.co/ORG/REPO for a repo with GGUF files) and the registry URL")
	case errors.Is(err, context.Canceled):
		return hint.New(err, fmt.Sprintf("run `nook pull %s` again to resume", name))
	}
	return err
}

// statusError is a registry answer other than 2xx.
type statusError struct {
	url    string
	status int
	text   string
}

func (e *statusError) Error() string { return fmt.Sprintf("%s: %s", e.url, e.text) }

func (e *statusError) Unwrap() error {
	if e.status == http.StatusNotFound {
		return ErrNotFound
	}
	return nil
}

// getSmall fetches a small document (manifest, file listing), bounded by the
// stall timeout and 8 MiB.
func (s *Store) getSmall(ctx context.Context, url, accept string) ([]byte, error) {
	rctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	t := time.AfterFunc(s.fetch.stall, func() { cancel(errStallCause) })
	defer t.Stop()
	req, err := http.NewRequestWithContext(rctx, http.MethodGet, url, nil)
	if err != nil {
		return nil, err
	}
	if accept != "" {
		req.Header.Set("Accept", accept)
	}
	resp, err := s.fetch.client.Do(req)
	if err != nil {
		return nil, unwrapRetry(classify(rctx, ctx, err))
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, &statusError{url: url, status: resp.StatusCode, text: resp.Status}
	}
	b, err := io.ReadAll(io.LimitReader(resp.Body, 8<<20))
	if err != nil {
		return nil, unwrapRetry(classify(rctx, ctx, err))
	}
	return b, nil
}

func unwrapRetry(err error) error {
	var r retryableError
	if errors.As(err, &r) {
		return r.error
	}
	return err
}

func (s *Store) registryBase(n Name) string {
	if n.Host == DefaultHost {
		return s.ollamaURL
	}
	return "https://" + n.Host
}

func (s *Store) pullOllama(ctx context.Context, n Name, fn func(Progress)) (*Model, error) {
	base := s.registryBase(n)
	fn(Progress{Name: n.Short(), Status: "pulling manifest"})
	raw, err := s.getSmall(ctx, fmt.Sprintf("%s/v2/%s/%s/manifests/%s", base, n.Namespace, n.Model, n.Tag), MediaTypeManifest)
	if err != nil {
		return nil, fmt.Errorf("manifest: %w", err)
	}
	m, err := parseManifest(raw)
	if err != nil {
		return nil, err
	}
	var jobs []blobJob
	seen := map[string]bool{}
	for _, l := range m.all() {
		if seen[l.Digest] {
			continue
		}
		seen[l.Digest] = true
		dst, _ := blobPath(s.dir, l.Digest)
		jobs = append(jobs, blobJob{
			url:    fmt.Sprintf("%s/v2/%s/%s/blobs/%s", base, n.Namespace, n.Model, l.Digest),
			digest: l.Digest, size: l.Size, dst: dst, done: new(atomic.Int64),
		})
	}
	if err := s.fetchAll(ctx, n, jobs, fn); err != nil {
		return nil, err
	}
	if err := writeFileAtomic(n.manifestPath(s.dir), raw); err != nil {
		return nil, err
	}
	return s.load("nook", s.dir, n)
}

// fetchAll downloads the blobs one after another (each in parallel parts when
// large), reporting overall progress.
func (s *Store) fetchAll(ctx context.Context, n Name, jobs []blobJob, fn func(Progress)) error {
	if err := os.MkdirAll(s.dir+string(os.PathSeparator)+"blobs", 0o755); err != nil {
		return err
	}
	var total int64
	for _, j := range jobs {
		total += j.size
	}
	sum := func() int64 {
		var c int64
		for _, j := range jobs {
			c += j.done.Load()
		}
		return c
	}
	stop := make(chan struct{})
	ticked := make(chan struct{})
	go func() {
		defer close(ticked)
		t := time.NewTicker(150 * time.Millisecond)
		defer t.Stop()
		for {
			select {
			case <-stop:
				return
			case <-t.C:
				fn(Progress{Name: n.Short(), Status: "downloading", Total: total, Completed: sum()})
			}
		}
	}()
	defer func() { close(stop); <-ticked }()
	for _, j := range jobs {
		if err := s.fetch.fetch(ctx, j); err != nil {
			return fmt.Errorf("blob %s: %w", j.digest, err)
		}
	}
	return nil
}

// configBlob is the image config Ollama writes for a GGUF model.
type configBlob struct {
	ModelFormat   string   `json:"model_format"`
	ModelFamily   string   `json:"model_family"`
	ModelFamilies []string `json:"model_families"`
	ModelType     string   `json:"model_type"`
	FileType      string   `json:"file_type"`
	RootFS        struct {
		Type    string   `json:"type"`
		DiffIDs []string `json:"diff_ids"`
	} `json:"rootfs"`
}

// writeOwnManifest stores a manifest nook made for a GGUF blob already in
// blobs/ (Hugging Face pulls, imports), with a config blob like Ollama's.
func (s *Store) writeOwnManifest(n Name, model Layer) (*Model, error) {
	p, _ := blobPath(s.dir, model.Digest)
	info, err := Inspect(p)
	if err != nil {
		return nil, err
	}
	var cb configBlob
	cb.ModelFormat = "gguf"
	cb.ModelFamily = info.Family
	cb.ModelFamilies = []string{info.Family}
	cb.ModelType = info.ParamsString()
	cb.FileType = info.Quant
	cb.RootFS.Type = "layers"
	cb.RootFS.DiffIDs = []string{model.Digest}
	cbytes, _ := json.Marshal(cb)
	cdigest := sha256Digest(cbytes)
	cpath, _ := blobPath(s.dir, cdigest)
	if err := writeFileAtomic(cpath, cbytes); err != nil {
		return nil, err
	}
	m := Manifest{
		SchemaVersion: 2,
		MediaType:     MediaTypeManifest,
		Config:        Layer{MediaType: MediaTypeConfig, Digest: cdigest, Size: int64(len(cbytes))},
		Layers:        []Layer{model},
	}
	mb, _ := json.Marshal(m)
	if err := writeFileAtomic(n.manifestPath(s.dir), mb); err != nil {
		return nil, err
	}
	return s.load("nook", s.dir, n)
}
