package harden

import (
	"os"
	"runtime"
	"slices"
	"strings"
	"sync"
)

// TakeEnv reads each variable of keys once, removes it from the process's
// environment (so that children never inherit it) and returns a getenv
// that answers those variables from what it read and the others from
// os.Getenv. Call it once, early in main, before anything starts a child.
func TakeEnv(keys ...string) func(string) string {
	taken := map[string]string{}
	for _, k := range keys {
		if v, ok := os.LookupEnv(k); ok {
			taken[k] = v
			os.Unsetenv(k)
		}
	}
	var mu sync.Mutex
	return func(k string) string {
		mu.Lock()
		v, ok := taken[k]
		mu.Unlock()
		if ok {
			return v
		}
		return os.Getenv(k)
	}
}

// baseEnv are the variables every plugin gets when they are set: what
// programs need to find programs, files, language and time.
var baseEnv = []string{"PATH", "HOME", "USER", "LOGNAME", "LANG", "LANGUAGE", "TMPDIR", "TZ"}

// windowsEnv are what Windows programs need to start at all.
var windowsEnv = []string{"SYSTEMROOT", "WINDIR", "COMSPEC", "PATHEXT", "TEMP", "TMP"}

// SecretName reports whether an environment variable's name is nook's
// (NOOK_*) or looks like a credential: it holds PASS, TOKEN, SECRET,
// CREDENTIAL, AUTH, COOKIE, SESSION or PRIVATE, or ends in KEY. Such a
// variable never reaches a plugin, even when its manifest asks for it.
func SecretName(name string) bool {
	u := strings.ToUpper(name)
	if strings.HasPrefix(u, "NOOK_") || u == "NOOK" {
		return true
	}
	for _, s := range []string{"PASS", "TOKEN", "SECRET", "CREDENTIAL", "AUTH", "COOKIE", "SESSION", "PRIVATE", "_KEY_"} {
		if strings.Contains(u, s) {
			return true
		}
	}
	return strings.HasSuffix(u, "KEY")
}

// PluginEnv is the environment a plugin starts with: the variables of
// baseEnv, LC_*, and those named in extra (its manifest's), each when it
// is set and SecretName says no; sorted, as KEY=value.
func PluginEnv(extra []string) []string {
	want := slices.Concat(baseEnv, extra)
	if runtime.GOOS == "windows" {
		want = append(want, windowsEnv...)
	}
	var out []string
	for _, kv := range os.Environ() {
		k, _, ok := strings.Cut(kv, "=")
		if !ok || k == "" || SecretName(k) {
			continue
		}
		if strings.HasPrefix(k, "LC_") || slices.Contains(want, k) {
			out = append(out, kv)
		}
	}
	slices.Sort(out)
	return slices.Compact(out)
}
