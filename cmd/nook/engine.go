package main

import (
	"context"
	"fmt"
	"log/slog"

	"github.com/nook-ai/nook/engine"
	"github.com/nook-ai/nook/engine/llama"
	"github.com/nook-ai/nook/engine/remote"
	"github.com/nook-ai/nook/models"
)

// sharedEngine lets one loaded model serve both chat and embeddings in one
// command; the app closes it when the command ends.
type sharedEngine struct{ engine.Engine }

func (sharedEngine) Close() error { return nil }

// resolveModel turns a model name or path (or "" for the configured or
// default model of the role) into a GGUF path, pulling the catalog default
// when nothing is configured or installed.
func resolveModel(ctx context.Context, a *app, name, role string) (string, string, error) {
	store, err := models.Open(a.cfg)
	if err != nil {
		return "", "", err
	}
	if name == "" {
		p, err := store.EnsureDefault(ctx, role, a.stderr)
		return p, "", err
	}
	p, err := store.Resolve(name)
	return p, name, err
}

// openEngine loads the chat model: name is a model name or GGUF path; ""
// means the configured model (NOOK_MODEL, config), then the default.
func openEngine(ctx context.Context, a *app, name string) (engine.Engine, error) {
	if name == "" {
		name = a.cfg.Model
	}
	if a.cfg.Remote.Kind != "" {
		return remote.New(remote.Config{Kind: a.cfg.Remote.Kind, URL: a.cfg.Remote.URL, APIKey: a.cfg.Remote.APIKey, Model: firstNonEmpty(a.cfg.Remote.Model, name)})
	}
	return openLocal(ctx, a, name, models.RoleChat)
}

// openEmbedder loads the embedding model: NOOK_EMBED_MODEL (embed_model in
// the config); without one, the chat model when one is configured, else the
// catalog's default embedding model.
func openEmbedder(ctx context.Context, a *app) (engine.Engine, error) {
	name := a.cfg.EmbedModel
	if name == "" && a.cfg.Remote.Kind != "" {
		return remote.New(remote.Config{Kind: a.cfg.Remote.Kind, URL: a.cfg.Remote.URL, APIKey: a.cfg.Remote.APIKey, Model: a.cfg.Remote.Model})
	}
	if name == "" {
		name = a.cfg.Model
	}
	role := models.RoleEmbedding
	if name == a.cfg.Model && name != "" {
		role = models.RoleChat
	}
	return openLocal(ctx, a, name, role)
}

func openLocal(ctx context.Context, a *app, name, role string) (engine.Engine, error) {
	path, label, err := resolveModel(ctx, a, name, role)
	if err != nil {
		return nil, err
	}
	if e, ok := a.engines[path]; ok {
		return sharedEngine{e}, nil
	}
	slog.Debug("loading model", "path", path)
	e, err := llama.Open(path, llama.Options{
		ContextLength: a.cfg.ContextLength,
		Threads:       a.cfg.Threads,
		GPULayers:     a.cfg.GPULayers,
		Name:          label,
	})
	if err != nil {
		return nil, err
	}
	if a.engines == nil {
		a.engines = map[string]engine.Engine{}
	}
	a.engines[path] = e
	return sharedEngine{e}, nil
}

func (a *app) closeEngines() {
	for p, e := range a.engines {
		if err := e.Close(); err != nil {
			fmt.Fprintf(a.stderr, "nook: warning: closing %s: %v\n", p, err)
		}
		delete(a.engines, p)
	}
}

func firstNonEmpty(s ...string) string {
	for _, x := range s {
		if x != "" {
			return x
		}
	}
	return ""
}
