package testbin

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"testing"
)

type result struct {
	path string
	err  error
}

var (
	mu    sync.Mutex
	dir   string
	built = map[string]*result{}
)

// Build compiles the Go package pkg (a path as `go build` takes it,
// relative to the test's folder or an import path) once per test process
// and returns the program's path. It inherits the environment, so cgo
// packages get the Makefile's CGO flags under `make test`.
func Build(tb testing.TB, pkg string) string {
	tb.Helper()
	wd, err := os.Getwd()
	if err != nil {
		tb.Fatal(err)
	}
	key := wd + "\x00" + pkg
	mu.Lock()
	defer mu.Unlock()
	r, ok := built[key]
	if !ok {
		r = build(pkg, len(built))
		built[key] = r
	}
	if r.err != nil {
		tb.Fatal(r.err)
	}
	return r.path
}

func build(pkg string, n int) *result {
	if dir == "" {
		d, err := os.MkdirTemp("", "nook-testbin-")
		if err != nil {
			return &result{err: err}
		}
		dir = d
	}
	out := filepath.Join(dir, fmt.Sprintf("%d-%s", n, filepath.Base(pkg)))
	if b, err := exec.Command("go", "build", "-o", out, pkg).CombinedOutput(); err != nil {
		return &result{err: fmt.Errorf("testbin: go build %s: %v\n%s", pkg, err, b)}
	}
	return &result{path: out}
}
