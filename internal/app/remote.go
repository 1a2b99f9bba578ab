package app

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"github.com/nook-ai/nook/engine"
	"github.com/nook-ai/nook/internal/atomicfile"
	"github.com/nook-ai/nook/internal/config"
)

// Remote engines get nothing by surprise: with [remote] set, the server
// gets questions (with the notes retrieved for them and the remembered
// facts); documents and searches go to it for embeddings only with
// remote.embed; plain HTTP to another machine is refused unless
// remote.allow_http (engine/remote); and the first time nook uses a server
// it says what the server receives (remembered per server in
// <home>/remote-seen once the person has been told).

// remoteSeenFile lists the servers whose notice was shown, one a line.
func remoteSeenFile(cfg *config.Config) string { return filepath.Join(cfg.Home, "remote-seen") }

// remoteNotice says what the server of spec s receives.
func remoteNotice(cfg *config.Config, s Spec) string {
	r := s.Remote
	what := "each question, with the notes retrieved for it and your remembered facts"
	if cfg.Remote.Embed {
		what += "; and, for embeddings (remote.embed), the text of every document you add and every search"
	} else {
		what += "; your documents stay here (set remote.embed = true to have it embed them)"
	}
	return fmt.Sprintf("using the %s server at %s (model %s): it receives %s", r.Kind, r.URL, r.Model, what)
}

// tellRemote gives the notice of a server the first time it is used; it is
// remembered once the notice function says it was shown.
func (a *App) tellRemote(s Spec) {
	if s.Remote == nil || a.o.notice == nil {
		return
	}
	key := s.Remote.Kind + " " + s.Remote.URL
	if cfg := a.cfg; cfg.Remote.Embed {
		key += " embed"
	}
	a.mu.Lock()
	told := a.told["remote "+key]
	a.told["remote "+key] = true
	a.mu.Unlock()
	if told || remoteSeen(a.cfg, key) {
		return
	}
	msg := remoteNotice(a.cfg, s)
	if a.o.notice(msg) {
		markRemoteSeen(a.cfg, key)
		return
	}
	a.mu.Lock()
	a.pending = append(a.pending, pendingNotice{key: key, text: msg})
	a.mu.Unlock()
}

// pendingNotice is a remote server's notice waiting for the next turn.
type pendingNotice struct{ key, text string }

// takeNotices returns the notices waiting for a turn, remembering them as
// told: the turn shows them.
func (a *App) takeNotices() []string {
	a.mu.Lock()
	p := a.pending
	a.pending = nil
	a.mu.Unlock()
	out := make([]string, 0, len(p))
	for _, n := range p {
		markRemoteSeen(a.cfg, n.key)
		out = append(out, n.text)
	}
	return out
}

func remoteSeen(cfg *config.Config, key string) bool {
	b, err := os.ReadFile(remoteSeenFile(cfg))
	if err != nil {
		return false
	}
	sc := bufio.NewScanner(bytes.NewReader(b))
	for sc.Scan() {
		if sc.Text() == key {
			return true
		}
	}
	return false
}

func markRemoteSeen(cfg *config.Config, key string) {
	b, _ := os.ReadFile(remoteSeenFile(cfg))
	atomicfile.Write(remoteSeenFile(cfg), 0o700, func(w io.Writer) error {
		if _, err := w.Write(b); err != nil {
			return err
		}
		_, err := io.WriteString(w, strings.ReplaceAll(key, "\n", " ")+"\n")
		return err
	})
}

// noticeLoader is l, telling a remote server's notice before it is first
// used.
func (a *App) noticeLoader(l Loader) Loader {
	return func(ctx context.Context, s Spec) (engine.Engine, error) {
		a.tellRemote(s)
		return l(ctx, s)
	}
}
