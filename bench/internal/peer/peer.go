// Package peer builds and runs the benchmarks' peer: `ollama serve` from
// the ollama version go.mod pins, built with the same cgo flags as nook so
// that both sides run the same compiled llama.cpp/ggml, listening on
// 127.0.0.1 only with its own temporary OLLAMA_MODELS.
//
// Entry points: [Ensure] builds the binary once (into build/tools);
// [Start] serves a GGUF under a model name; [Server.Stop] ends it.
package peer

import (
	"crypto/sha256"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"
)

// Ensure builds the ollama version go.mod pins into build/tools, with the
// same cgo flags as this binary (a binary per version and flags), and
// returns its path.
func Ensure() (string, error) {
	out, err := exec.Command("go", "env", "GOMOD").Output()
	if err != nil {
		return "", err
	}
	root := filepath.Dir(strings.TrimSpace(string(out)))
	out, err = exec.Command("go", "list", "-m", "-f", "{{.Version}}", "github.com/ollama/ollama").Output()
	if err != nil {
		return "", err
	}
	ver := strings.TrimSpace(string(out))
	flags := sha256.Sum256([]byte(os.Getenv("CGO_CFLAGS") + "|" + os.Getenv("CGO_CXXFLAGS") + "|" + os.Getenv("CGO_CPPFLAGS")))
	bin := filepath.Join(root, "build", "tools", fmt.Sprintf("ollama-%s-%x", ver, flags[:4]))
	if _, err := os.Stat(bin); err == nil {
		return bin, nil
	}
	fmt.Fprintf(os.Stderr, "building ollama %s (once)...\n", ver)
	if err := os.MkdirAll(filepath.Dir(bin), 0o755); err != nil {
		return "", err
	}
	tmp, err := os.MkdirTemp(filepath.Dir(bin), ".gobin-")
	if err != nil {
		return "", err
	}
	defer os.RemoveAll(tmp)
	cmd := exec.Command("go", "install", "github.com/ollama/ollama@"+ver)
	cmd.Env = append(os.Environ(), "GOBIN="+tmp)
	cmd.Stdout, cmd.Stderr = os.Stderr, os.Stderr
	if err := cmd.Run(); err != nil {
		return "", fmt.Errorf("go install ollama: %w", err)
	}
	return bin, os.Rename(filepath.Join(tmp, "ollama"), bin)
}

// Server is a running `ollama serve` with one model created.
type Server struct {
	Base    string // http://127.0.0.1:PORT
	Name    string // the model's name
	LogPath string
	cmd     *exec.Cmd
	dir     string
}

// Start runs `bin serve` on a free loopback port, with a fresh models
// folder and env added to its environment, and creates name from the GGUF
// at model.
func Start(bin, model, name string, env ...string) (*Server, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	port := l.Addr().(*net.TCPAddr).Port
	l.Close()
	dir, err := os.MkdirTemp("", "nook-bench-ollama-")
	if err != nil {
		return nil, err
	}
	host := fmt.Sprintf("127.0.0.1:%d", port)
	env = append(append(os.Environ(), "OLLAMA_HOST="+host, "OLLAMA_MODELS="+filepath.Join(dir, "models"),
		"HOME="+dir, "OLLAMA_NOPRUNE=1", "OLLAMA_KEEP_ALIVE=1h", "OLLAMA_NUM_PARALLEL=1",
		"OLLAMA_NO_CLOUD=1"), // v0.24 would otherwise fetch model recommendations from ollama.com
		env...)
	logf, err := os.Create(filepath.Join(dir, "serve.log"))
	if err != nil {
		os.RemoveAll(dir)
		return nil, err
	}
	defer logf.Close()
	s := &Server{Base: "http://" + host, Name: name, LogPath: logf.Name(), dir: dir}
	s.cmd = exec.Command(bin, "serve")
	s.cmd.Env = env
	s.cmd.Stdout, s.cmd.Stderr = logf, logf
	if err := s.cmd.Start(); err != nil {
		os.RemoveAll(dir)
		return nil, err
	}
	deadline := time.Now().Add(30 * time.Second)
	for {
		resp, err := http.Get(s.Base + "/api/version")
		if err == nil {
			resp.Body.Close()
			break
		}
		if time.Now().After(deadline) {
			s.Stop()
			return nil, fmt.Errorf("ollama serve did not start (log: %s)", s.LogPath)
		}
		time.Sleep(100 * time.Millisecond)
	}
	mf := filepath.Join(dir, "Modelfile")
	if err := os.WriteFile(mf, []byte("FROM "+model+"\n"), 0o644); err != nil {
		s.Stop()
		return nil, err
	}
	create := exec.Command(bin, "create", name, "-f", mf)
	create.Env = env
	if out, err := create.CombinedOutput(); err != nil {
		s.Stop()
		lines := strings.Split(strings.TrimSpace(string(out)), "\n")
		return nil, fmt.Errorf("ollama create: %v: %s", err, lines[len(lines)-1])
	}
	return s, nil
}

// Stop ends the server (interrupt, then kill after 10 s) and removes its
// folder.
func (s *Server) Stop() {
	if s.cmd != nil && s.cmd.Process != nil {
		s.cmd.Process.Signal(os.Interrupt)
		done := make(chan struct{})
		go func() { s.cmd.Wait(); close(done) }()
		select {
		case <-done:
		case <-time.After(10 * time.Second):
			s.cmd.Process.Kill()
			<-done
		}
	}
	os.RemoveAll(s.dir)
}

// LogTail is the end of the server's log, n lines.
func (s *Server) LogTail(n int) string {
	b, _ := os.ReadFile(s.LogPath)
	lines := strings.Split(strings.TrimRight(string(b), "\n"), "\n")
	return strings.Join(lines[max(0, len(lines)-n):], "\n")
}
