package plugins

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"slices"
	"time"

	"github.com/BurntSushi/toml"
)

// SettingsFile holds the user's per-plugin settings, in the plugins folder.
const SettingsFile = "settings.toml"

// Settings are the user's choices per plugin id (not the publisher's: they
// are not in the signed manifest):
//
//	[units]
//	consent = ["convert"]  # tools confirmed before each call; "*" = all
//	timeout = "10s"        # per call (default 30s)
type Settings map[string]PluginSettings

// PluginSettings are one plugin's settings.
type PluginSettings struct {
	Consent []string `toml:"consent,omitempty"`
	Timeout string   `toml:"timeout,omitempty"`
}

// maxSettingsSize bounds settings.toml.
const maxSettingsSize = 1 << 20

// LoadSettings reads path; a missing file is empty settings.
func LoadSettings(path string) (Settings, error) {
	data, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return Settings{}, nil
	}
	if err != nil {
		return nil, fmt.Errorf("plugins: settings: %w", err)
	}
	s, err := ParseSettings(data)
	if err != nil {
		return nil, fmt.Errorf("plugins: settings %s: %w", path, err)
	}
	return s, nil
}

// ParseSettings decodes and checks settings.toml.
func ParseSettings(data []byte) (Settings, error) {
	if len(data) > maxSettingsSize {
		return nil, fmt.Errorf("%d bytes, more than %d", len(data), maxSettingsSize)
	}
	s := Settings{}
	md, err := toml.Decode(string(data), &s)
	if err != nil {
		return nil, err
	}
	if und := md.Undecoded(); len(und) > 0 {
		return nil, fmt.Errorf("unknown key %q", und[0].String())
	}
	for id, ps := range s {
		if ps.Timeout != "" {
			if d, err := time.ParseDuration(ps.Timeout); err != nil || d <= 0 {
				return nil, fmt.Errorf("[%s] timeout %q is not a duration", id, ps.Timeout)
			}
		}
	}
	return s, nil
}

// Save writes the settings to path.
func (s Settings) Save(path string) error {
	tmp := path + ".tmp"
	f, err := os.OpenFile(tmp, os.O_CREATE|os.O_TRUNC|os.O_WRONLY, 0o600)
	if err != nil {
		return fmt.Errorf("plugins: settings: %w", err)
	}
	if err := toml.NewEncoder(f).Encode(s); err != nil {
		f.Close()
		return fmt.Errorf("plugins: settings: %w", err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("plugins: settings: %w", err)
	}
	return os.Rename(tmp, path)
}

func (s Settings) needsConsent(id, tool string) bool {
	c := s[id].Consent
	return slices.Contains(c, "*") || slices.Contains(c, tool)
}

func (h *Host) timeoutFor(id string) time.Duration {
	if t := h.settings[id].Timeout; t != "" {
		if d, err := time.ParseDuration(t); err == nil && d > 0 {
			return d
		}
	}
	return h.timeout
}
