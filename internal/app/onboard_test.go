package app_test

import (
	"strings"
	"testing"

	"github.com/nook-ai/nook/internal/app"
	"github.com/nook-ai/nook/models"
)

func TestModelsTheUserAddedAreOfferedFirstAndPickedByDefault(t *testing.T) {
	t.Parallel()
	reg := newRegistry(t)
	cfg := newConfig(t, reg)
	a := app.New(cfg)
	defer a.Close()

	// Nothing installed: the catalog, with download sizes, nothing pulled.
	cs, err := a.ModelChoices()
	if err != nil || len(cs) == 0 || cs[0].Installed || cs[0].Size <= 0 {
		t.Fatalf("choices with nothing installed: %+v, %v", cs, err)
	}
	// A model in the Ollama store, and one imported into nook's.
	ol, err := models.NewStore(cfg.OllamaModels)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := ol.Import(stories(t), "ollamastory"); err != nil {
		t.Fatal(err)
	}
	st, err := a.Store()
	if err != nil {
		t.Fatal(err)
	}
	if _, err := st.Import(stories(t), "mystory"); err != nil {
		t.Fatal(err)
	}
	cs, err = a.ModelChoices()
	if err != nil || len(cs) < 3 {
		t.Fatalf("choices: %+v, %v", cs, err)
	}
	if cs[0].Name != "mystory:latest" && cs[0].Name != "mystory" || !cs[0].Installed || cs[0].Where != "nook" {
		t.Errorf("first choice %+v, want the imported model", cs[0])
	}
	if !cs[1].Installed || cs[1].Where != "ollama" || !strings.HasPrefix(cs[1].Name, "ollamastory") {
		t.Errorf("second choice %+v, want the Ollama store's model", cs[1])
	}
	if cs[2].Installed {
		t.Errorf("third choice %+v, want the catalog", cs[2])
	}
	// The default pick (nothing configured) takes the imported model.
	s, err := a.Resolve("", models.RoleChat)
	if err != nil || !strings.HasPrefix(s.Name, "mystory") {
		t.Fatalf("default chat model %+v, %v", s, err)
	}
	if n := reg.Hits.Load(); n != 0 {
		t.Fatalf("the registry saw %d requests", n)
	}
}

func TestThePickedModelIsSavedInTheConfig(t *testing.T) {
	t.Parallel()
	cfg := newConfig(t, newRegistry(t))
	a := app.New(cfg)
	defer a.Close()
	if err := a.RememberModel("llama3.2"); err != nil {
		t.Fatal(err)
	}
	if err := a.RememberModel("qwen2.5:0.5b"); err != nil {
		t.Fatal(err)
	}
	if cfg.Model != "qwen2.5:0.5b" {
		t.Errorf("config model %q", cfg.Model)
	}
}

func TestAWeakPassphraseIsNamedAndAStrongOneIsNot(t *testing.T) {
	t.Parallel()
	for pass, weak := range map[string]bool{"": true, "hunter2": true, "password123": true, "ample quiet harbor lantern 47": false} {
		w := app.PassphraseWarning([]byte(pass))
		if (w != "") != weak {
			t.Errorf("PassphraseWarning(%q) = %q", pass, w)
		}
	}
}
