package app

import (
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/trustelem/zxcvbn"

	"github.com/nook-ai/nook/models"
)

// The first run: what a front end offers when there is no model or no
// vault yet. Nothing here downloads anything; a pull starts only when the
// caller loads a name the user picked (PullIfMissing).

// ModelChoice is one model a user can start with.
type ModelChoice struct {
	// Name is what to load (and save as model in the config).
	Name string
	// Installed: on this machine (Where says which store); otherwise it
	// is a catalog model and Size is its download size.
	Installed bool
	Where     string // "nook", "ollama"
	Size      int64
	// About is a short line: parameters and what the model is good for.
	About string
	// Recommended is the catalog's pick for this machine's memory.
	Recommended bool
	// TooBig: the catalog says it needs more memory than this machine has.
	TooBig bool
}

// ModelChoices lists the chat models a user can pick from: the installed
// ones first (nook's store, with models added by `nook models import`,
// then the Ollama store; embedding models left out), then the catalog
// models that are not installed, with their download sizes. It reads the
// stores only.
func (a *App) ModelChoices() ([]ModelChoice, error) {
	st, err := a.Store()
	if err != nil {
		return nil, err
	}
	list, err := st.List()
	if err != nil {
		return nil, err
	}
	mem := models.TotalMemory()
	def := models.Default(models.RoleChat, mem)
	catalog := map[string]models.CatalogEntry{}
	for _, e := range models.Catalog() {
		catalog[e.Name] = e
	}
	var out []ModelChoice
	have := map[string]bool{}
	for _, m := range list {
		name := m.Name.Short()
		if isEmbeddingModel(m, catalog) {
			continue
		}
		c := ModelChoice{Name: name, Installed: true, Where: m.Store, Size: m.Size, Recommended: name == def.Name}
		if e, ok := catalog[name]; ok {
			c.About = e.Params + ", " + e.About
		} else if info, err := models.Inspect(m.Path); err == nil {
			c.About = strings.TrimSpace(info.ParamsString() + " " + info.Family)
		}
		have[name] = true
		out = append(out, c)
	}
	for _, e := range models.Catalog() {
		if e.Role != models.RoleChat || have[e.Name] {
			continue
		}
		out = append(out, ModelChoice{Name: e.Name, Size: e.Size, About: e.Params + ", " + e.About,
			Recommended: e.Name == def.Name, TooBig: mem != 0 && e.MinMemory > mem})
	}
	return out, nil
}

// isEmbeddingModel: a catalog embedding model, or a GGUF whose header says
// it embeds.
func isEmbeddingModel(m *models.Model, catalog map[string]models.CatalogEntry) bool {
	if e, ok := catalog[m.Name.Short()]; ok {
		return e.Role == models.RoleEmbedding
	}
	info, err := models.Inspect(m.Path)
	return err == nil && info.IsEmbedding()
}

// RememberModel saves name as the chat model in the config file (model =
// NAME), keeping the rest of the file, so the next start loads it.
func (a *App) RememberModel(name string) error {
	if name == "" {
		return nil
	}
	return a.cfg.SetTop("model", name)
}

// PassphraseWarning says why a new vault passphrase is weak ("" when it
// is not): how long an offline attacker with the vault would need, by
// zxcvbn's estimate, and what to do.
func PassphraseWarning(pass []byte) string {
	if len(pass) == 0 {
		return "an empty passphrase leaves the vault open to anyone with the files: choose one"
	}
	r := zxcvbn.PasswordStrength(string(pass), []string{"nook"})
	if r.Score >= 3 {
		return ""
	}
	// scrypt makes each guess slow: about 10 guesses a second per core,
	// so a thousand cores try ~1e4 a second.
	secs := r.Guesses / 1e4
	return fmt.Sprintf("weak passphrase: it could be guessed in about %s by someone who copies the vault; four or more random words are stronger", humanDuration(secs))
}

func humanDuration(secs float64) string {
	switch {
	case secs < 1:
		return "a second"
	case secs < 3600:
		return (time.Duration(secs) * time.Second).Round(time.Second).String()
	case secs < 86400*2:
		return fmt.Sprintf("%.0f hours", secs/3600)
	case secs < 86400*365:
		return fmt.Sprintf("%.0f days", secs/86400)
	}
	return fmt.Sprintf("%.0f years", secs/(86400*365))
}

// anyInstalledChat is the first installed chat model of the stores that is
// not in the catalog (an imported GGUF, a model from the Ollama store), or
// "".
func (a *App) anyInstalledChat() (Spec, bool) {
	st, err := a.Store()
	if err != nil {
		return Spec{}, false
	}
	list, err := st.List()
	if err != nil {
		return Spec{}, false
	}
	catalog := map[string]models.CatalogEntry{}
	for _, e := range models.Catalog() {
		catalog[e.Name] = e
	}
	i := slices.IndexFunc(list, func(m *models.Model) bool { return !isEmbeddingModel(m, catalog) })
	if i < 0 {
		return Spec{}, false
	}
	return Spec{Name: list[i].Name.Short(), Path: list[i].Path}, true
}
