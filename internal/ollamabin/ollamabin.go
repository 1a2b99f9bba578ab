package ollamabin

import (
	"crypto/sha256"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"time"
)

// RepoRoot is the folder of the go.mod of the module being built.
func RepoRoot() (string, error) {
	out, err := exec.Command("go", "env", "GOMOD").Output()
	if err != nil {
		return "", fmt.Errorf("ollamabin: go env GOMOD: %w", err)
	}
	mod := strings.TrimSpace(string(out))
	if mod == "" || mod == os.DevNull {
		return "", fmt.Errorf("ollamabin: not inside a Go module")
	}
	return filepath.Dir(mod), nil
}

var ensureMu sync.Mutex

// Ensure returns the path of the ollama binary of the version go.mod pins,
// building it into build/tools with `go install` when missing (about a
// minute once llama.cpp is in Go's build cache). Progress goes to log.
func Ensure(log io.Writer) (string, error) {
	ensureMu.Lock()
	defer ensureMu.Unlock()
	root, err := RepoRoot()
	if err != nil {
		return "", err
	}
	out, err := exec.Command("go", "list", "-m", "-f", "{{.Version}}", "github.com/ollama/ollama").Output()
	if err != nil {
		return "", fmt.Errorf("ollamabin: go list: %w", err)
	}
	ver := strings.TrimSpace(string(out))
	flags := sha256.Sum256([]byte(os.Getenv("CGO_CFLAGS") + "|" + os.Getenv("CGO_CXXFLAGS") + "|" + os.Getenv("CGO_CPPFLAGS")))
	bin := filepath.Join(root, "build", "tools", fmt.Sprintf("ollama-%s-%x", ver, flags[:4]))
	if _, err := os.Stat(bin); err == nil {
		return bin, nil
	}
	fmt.Fprintf(log, "building ollama %s (once)...\n", ver)
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
	cmd.Stdout, cmd.Stderr = log, log
	if err := cmd.Run(); err != nil {
		return "", fmt.Errorf("ollamabin: go install ollama@%s: %w", ver, err)
	}
	return bin, os.Rename(filepath.Join(tmp, "ollama"), bin)
}

// FreePort returns a TCP port free on 127.0.0.1 now.
func FreePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

// Server is a running `ollama serve`.
type Server struct {
	Bin     string
	Host    string // 127.0.0.1:PORT
	Base    string // http://Host
	Dir     string // its HOME and model store, removed by Stop
	LogPath string
	env     []string
	cmd     *exec.Cmd
}

// Start runs `bin serve` on a free loopback port with a fresh model store;
// env adds OLLAMA_* settings (OLLAMA_NUM_PARALLEL=4…).
func Start(bin string, env ...string) (*Server, error) {
	port, err := FreePort()
	if err != nil {
		return nil, err
	}
	dir, err := os.MkdirTemp("", "nook-ollama-")
	if err != nil {
		return nil, err
	}
	host := fmt.Sprintf("127.0.0.1:%d", port)
	s := &Server{Bin: bin, Host: host, Base: "http://" + host, Dir: dir, LogPath: filepath.Join(dir, "serve.log")}
	s.env = append(os.Environ(), "OLLAMA_HOST="+host, "OLLAMA_MODELS="+filepath.Join(dir, "models"),
		"HOME="+dir, "OLLAMA_NOPRUNE=1", "OLLAMA_KEEP_ALIVE=1h",
		"OLLAMA_NO_CLOUD=1") // v0.24 would otherwise fetch model recommendations from ollama.com
	s.env = append(s.env, env...)
	logf, err := os.Create(s.LogPath)
	if err != nil {
		os.RemoveAll(dir)
		return nil, err
	}
	defer logf.Close()
	s.cmd = exec.Command(bin, "serve")
	s.cmd.Env = s.env
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
			return s, nil
		}
		if time.Now().After(deadline) {
			log := s.Log(15)
			s.Stop()
			return nil, fmt.Errorf("ollamabin: ollama serve did not start; its log:\n%s", log)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// Create imports the GGUF at path as model name (`ollama create`).
func (s *Server) Create(name, path string) error {
	mf := filepath.Join(s.Dir, "Modelfile")
	if err := os.WriteFile(mf, []byte("FROM "+path+"\n"), 0o644); err != nil {
		return err
	}
	cmd := exec.Command(s.Bin, "create", name, "-f", mf)
	cmd.Env = s.env
	if out, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("ollamabin: ollama create: %v: %s", err, LastLine(out))
	}
	return nil
}

// Log returns the last n lines of the server's log.
func (s *Server) Log(n int) string {
	b, _ := os.ReadFile(s.LogPath)
	lines := strings.Split(strings.TrimRight(string(b), "\n"), "\n")
	return strings.Join(lines[max(0, len(lines)-n):], "\n")
}

// Stop interrupts the server (killing it after 10 s) and removes its store.
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
	os.RemoveAll(s.Dir)
}

// LastLine is the last non-empty line of b.
func LastLine(b []byte) string {
	lines := strings.Split(strings.TrimSpace(string(b)), "\n")
	return lines[len(lines)-1]
}
