package app

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/nook-ai/nook/engine/remote"
	"github.com/nook-ai/nook/internal/config"
	"github.com/nook-ai/nook/internal/hint"
	"github.com/nook-ai/nook/models"
)

// ErrNoModel: no model is configured for the role and none is installed.
var ErrNoModel = errors.New("no model configured or installed")

// errNoEmbedder: nothing to embed with; search is lexical.
var errNoEmbedder = errors.New("no embedding model configured or installed")

// Store is the model store: nook's own and the user's Ollama store.
func (a *App) Store() (*models.Store, error) {
	a.storeOnce.Do(func() {
		a.store, a.storeErr = models.Open(a.cfg, a.o.storeOpts...)
	})
	return a.store, a.storeErr
}

// Resolve turns a model name or GGUF path into a Spec without pulling
// anything. name "" means the configured model of the role (models.RoleChat
// or models.RoleEmbedding): for chat, [remote] model, then model; for
// embeddings, embed_model, then the remote server's model, then the chat
// model. With nothing configured it picks the largest installed catalog
// model of the role; with none installed it fails with ErrNoModel and a
// hint saying what to do. A named model that is not installed fails with
// models.ErrNotFound (and `nook pull NAME` as the hint).
func (a *App) Resolve(name, role string) (Spec, error) {
	if role == models.RoleEmbedding {
		return a.resolveEmbed(name)
	}
	if r := a.cfg.Remote; r.Kind != "" {
		model := name
		if model == "" {
			model = r.Model
		}
		if model == "" {
			model = a.cfg.Model
		}
		return a.remoteSpec(r, model)
	}
	if name == "" {
		name = a.cfg.Model
	}
	if name == "" {
		return a.installedDefault(models.RoleChat)
	}
	return a.localSpec(name)
}

func (a *App) resolveEmbed(name string) (Spec, error) {
	if name == "" {
		name = a.cfg.EmbedModel
	}
	if name != "" {
		return a.localSpec(name)
	}
	// Documents go to a chat server for embeddings only when the config
	// says so (remote.embed): a server set for chat gets nothing by
	// surprise.
	if r := a.cfg.Remote; r.Kind != "" && r.Embed {
		model := r.EmbedModel
		if model == "" {
			model = r.Model
		}
		return a.remoteSpec(r, model)
	}
	if a.cfg.Model != "" && a.cfg.Remote.Kind == "" { // under [remote], model names the server's model
		if s, err := a.localSpec(a.cfg.Model); err == nil {
			return s, nil
		}
	}
	s, err := a.installedDefault(models.RoleEmbedding)
	if err != nil {
		return Spec{}, hint.New(errNoEmbedder, fmt.Sprintf("for vector search run `nook pull %s` (or set embed_model in %s, or NOOK_EMBED_MODEL), then `nook reindex`",
			models.Default(models.RoleEmbedding, models.TotalMemory()).Name, a.cfg.Path))
	}
	return s, nil
}

// remoteSpec is model on the [remote] server r.
func (a *App) remoteSpec(r config.Remote, model string) (Spec, error) {
	c := &remote.Config{Kind: r.Kind, URL: r.URL, APIKey: r.APIKey, Model: model, AllowHTTP: r.AllowHTTP, ContextLength: r.ContextLength, Strict: r.Strict}
	if _, err := remote.New(*c); err != nil { // checks the config, connects to nothing
		return Spec{}, err
	}
	return Spec{Name: model, Remote: c}, nil
}

// localSpec resolves a model name or GGUF path in the store.
func (a *App) localSpec(name string) (Spec, error) {
	st, err := a.Store()
	if err != nil {
		return Spec{}, err
	}
	p, err := st.Resolve(name)
	if err != nil {
		return Spec{}, err
	}
	label := name
	if models.IsPath(name) {
		label = strings.TrimSuffix(filepath.Base(p), ".gguf")
	}
	return Spec{Name: label, Path: p}, nil
}

// installedDefault is the largest installed catalog model of the role that
// fits in memory (any installed one when memory is unknown), else, for
// chat, any installed chat model (imported, or in the Ollama store). It
// pulls nothing.
func (a *App) installedDefault(role string) (Spec, error) {
	mem := models.TotalMemory()
	def := models.Default(role, mem)
	candidates := []string{def.Name}
	for _, e := range slices.Backward(models.Catalog()) {
		if e.Role == role && (mem == 0 || e.MinMemory <= mem) {
			candidates = append(candidates, e.Name)
		}
	}
	if st, err := a.Store(); err == nil {
		for _, n := range candidates {
			if p, err := st.Resolve(n); err == nil {
				return Spec{Name: n, Path: p}, nil
			}
		}
	}
	if role == models.RoleChat {
		// An imported GGUF or a model of the Ollama store: the user put it
		// there, so it beats a download.
		if s, ok := a.anyInstalledChat(); ok {
			return s, nil
		}
	}
	env, key := "NOOK_MODEL", "model"
	if role == models.RoleEmbedding {
		env, key = "NOOK_EMBED_MODEL", "embed_model"
	}
	return Spec{}, hint.New(fmt.Errorf("app: %s: %w", role, ErrNoModel),
		fmt.Sprintf("run `nook pull %s` (or any model: `nook models catalog` lists them), then set %s in %s or %s; `nook models` shows what is installed",
			def.Name, key, a.cfg.Path, env))
}

// ModelOption changes how UseModel, LoadModel and Engine find a model.
type ModelOption func(*modelOptions)

type modelOptions struct {
	pull func(PullEvent)
}

// PullIfMissing pulls a named model that is not installed, reporting the
// pull's progress to obs (it must not block). Only a name the caller passed
// is pulled: never the configured model, never a catalog default.
func PullIfMissing(obs func(PullEvent)) ModelOption {
	if obs == nil {
		obs = func(PullEvent) {}
	}
	return func(o *modelOptions) { o.pull = obs }
}

// resolveChat is Resolve for the chat role, pulling name when asked to.
func (a *App) resolveChat(ctx context.Context, name string, opts []ModelOption) (Spec, error) {
	var o modelOptions
	for _, f := range opts {
		f(&o)
	}
	s, err := a.Resolve(name, models.RoleChat)
	if err == nil || o.pull == nil || name == "" || models.IsPath(name) || !errors.Is(err, models.ErrNotFound) {
		return s, err
	}
	if _, err := a.Pull(ctx, name, o.pull); err != nil {
		if errors.Is(err, models.ErrNotFound) {
			return Spec{}, hint.New(fmt.Errorf("app: model %q not found, installed or in the registry: %w", name, err),
				"check the name (`nook models` lists what is installed; ollama.com/library, or hf.co/ORG/REPO, what can be pulled)")
		}
		return Spec{}, err
	}
	return a.Resolve(name, models.RoleChat)
}

// PullEvent is a pull's progress, a few times a second.
type PullEvent struct {
	// Model is the name being pulled.
	Model string
	// Status: "pulling manifest", "downloading", "verifying", "done", or
	// "in ollama store" (nothing to download).
	Status string
	// Total and Done are bytes of all the model's blobs.
	Total, Done int64
	// Rate is bytes per second over the last few seconds (0: unknown).
	Rate float64
	// ETA is the time left at that rate (0: unknown or done).
	ETA time.Duration
	// Elapsed since the pull started.
	Elapsed time.Duration
}

// Fraction is Done/Total, 0 when the total is unknown.
func (e PullEvent) Fraction() float64 {
	if e.Total <= 0 {
		return 0
	}
	return float64(e.Done) / float64(e.Total)
}

// String is the event in one line, for a status bar or a log:
// "pulling llama3.2: 42% of 2.0 GB, 12.5 MB/s, 1m30s left".
func (e PullEvent) String() string {
	switch e.Status {
	case "downloading":
		s := fmt.Sprintf("pulling %s: %.0f%% of %s", e.Model, 100*e.Fraction(), models.HumanBytes(e.Total))
		if e.Rate > 0 {
			s += fmt.Sprintf(", %s/s", models.HumanBytes(int64(e.Rate)))
		}
		if e.ETA > 0 {
			s += ", " + e.ETA.Round(time.Second).String() + " left"
		}
		return s
	case "done":
		return fmt.Sprintf("pulled %s: %s in %s", e.Model, models.HumanBytes(e.Total), e.Elapsed.Round(100*time.Millisecond))
	case "in ollama store":
		return fmt.Sprintf("%s: in the Ollama store (%s), used in place", e.Model, models.HumanBytes(e.Total))
	}
	return e.Model + ": " + e.Status
}

// Pull fetches a model into the store, reporting progress to obs (nil:
// none). It is the only way the app downloads a model.
func (a *App) Pull(ctx context.Context, name string, obs func(PullEvent)) (*models.Model, error) {
	st, err := a.Store()
	if err != nil {
		return nil, err
	}
	r := newRateMeter(time.Now)
	m, err := st.PullFunc(ctx, name, func(p models.Progress) {
		ev := r.event(p)
		a.setPulling(&ev)
		if obs != nil {
			obs(ev)
		}
	})
	a.setPulling(nil)
	return m, err
}

// setPulling records the pull in progress for Status.
func (a *App) setPulling(ev *PullEvent) {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.pulling = ev
}

// rateMeter turns models.Progress into PullEvents with a rate over the last
// few seconds.
type rateMeter struct {
	now     func() time.Time
	mu      sync.Mutex
	start   time.Time
	samples []rateSample
}

type rateSample struct {
	t time.Time
	n int64
}

const rateWindow = 5 * time.Second

func newRateMeter(now func() time.Time) *rateMeter { return &rateMeter{now: now, start: now()} }

func (r *rateMeter) event(p models.Progress) PullEvent {
	r.mu.Lock()
	defer r.mu.Unlock()
	now := r.now()
	ev := PullEvent{Model: p.Name, Status: p.Status, Total: p.Total, Done: p.Completed, Elapsed: now.Sub(r.start)}
	if p.Status != "downloading" {
		return ev
	}
	r.samples = append(r.samples, rateSample{now, p.Completed})
	for len(r.samples) > 2 && now.Sub(r.samples[0].t) > rateWindow {
		r.samples = r.samples[1:]
	}
	first := r.samples[0]
	if dt := now.Sub(first.t); dt >= 200*time.Millisecond && p.Completed > first.n {
		ev.Rate = float64(p.Completed-first.n) / dt.Seconds()
		if p.Total > p.Completed {
			ev.ETA = time.Duration(float64(p.Total-p.Completed) / ev.Rate * float64(time.Second))
		}
	}
	return ev
}
