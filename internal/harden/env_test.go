package harden_test

import (
	"os"
	"os/exec"
	"slices"
	"strings"
	"testing"

	"github.com/nook-ai/nook/internal/harden"
)

func TestTakeEnvRemovesTheSecretButStillAnswersIt(t *testing.T) {
	t.Setenv("NOOK_PASSPHRASE", "s3cret")
	t.Setenv("NOOK_HOME", "/somewhere")
	getenv := harden.TakeEnv("NOOK_PASSPHRASE", "NOOK_NOT_SET")
	if v, ok := os.LookupEnv("NOOK_PASSPHRASE"); ok {
		t.Fatalf("NOOK_PASSPHRASE=%q is still in the environment", v)
	}
	if getenv("NOOK_PASSPHRASE") != "s3cret" || getenv("NOOK_HOME") != "/somewhere" || getenv("NOOK_NOT_SET") != "" {
		t.Fatal("getenv does not answer what was taken and what was left")
	}
	out, err := exec.Command("/usr/bin/env").Output()
	if err == nil && strings.Contains(string(out), "s3cret") {
		t.Fatal("a child inherited the passphrase")
	}
}

func TestPluginEnvIsSmallAndHoldsNoSecret(t *testing.T) {
	for k, v := range map[string]string{
		"PATH": "/usr/bin", "HOME": "/home/u", "LANG": "C.UTF-8", "LC_TIME": "de_DE.UTF-8", "TZ": "UTC",
		"NOOK_PASSPHRASE": "pw", "NOOK_HOME": "/h", "OPENAI_API_KEY": "k", "GITHUB_TOKEN": "t", "PGPASSWORD": "p",
		"AWS_SECRET_ACCESS_KEY": "s", "SSH_AUTH_SOCK": "/run/ssh", "DBUS_SESSION_BUS_ADDRESS": "unix:x",
		"UNRELATED": "u", "CALENDAR_DIR": "/cal", "MY_TOKEN": "x",
	} {
		t.Setenv(k, v)
	}
	got := harden.PluginEnv([]string{"CALENDAR_DIR", "MY_TOKEN", "NOOK_HOME"})
	want := []string{"CALENDAR_DIR=/cal", "HOME=/home/u", "LANG=C.UTF-8", "LC_TIME=de_DE.UTF-8", "PATH=/usr/bin", "TZ=UTC"}
	var keep []string
	for _, kv := range got {
		k, _, _ := strings.Cut(kv, "=")
		if slices.Contains([]string{"USER", "LOGNAME", "LANGUAGE", "TMPDIR"}, k) || strings.HasPrefix(k, "LC_") && k != "LC_TIME" {
			continue // set by the machine, not by this test
		}
		keep = append(keep, kv)
	}
	if !slices.Equal(keep, want) {
		t.Fatalf("PluginEnv = %q, want %q", keep, want)
	}
}

func TestSecretNames(t *testing.T) {
	t.Parallel()
	for name, secret := range map[string]bool{
		"NOOK_PASSPHRASE": true, "nook_home": true, "OPENAI_API_KEY": true, "GITHUB_TOKEN": true, "PASSWORD": true,
		"AWS_SECRET_ACCESS_KEY": true, "SSH_AUTH_SOCK": true, "XAUTHORITY": true, "GPG_KEY_ID": true, "APIKEY": true,
		"PATH": false, "HOME": false, "LANG": false, "KEYBOARD_LAYOUT": false, "MONKEYS": false, "CALENDAR_DIR": false,
	} {
		if harden.SecretName(name) != secret {
			t.Errorf("SecretName(%q) = %v, want %v", name, !secret, secret)
		}
	}
}
