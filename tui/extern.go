package tui

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"

	tea "github.com/charmbracelet/bubbletea"

	"github.com/nook-ai/nook/internal/hint"
	"github.com/nook-ai/nook/tui/components/sources"
)

// The app's only reads and writes of the disk and its only child
// processes: a cited file opened in $PAGER or $EDITOR, the prompt edited
// in $EDITOR (a private temporary file, removed at once), and @path files
// read for a question. The programs run through tea.ExecProcess: the app
// suspends, gives them the terminal, and redraws when they exit.

// maxAttach is the most of one @path file a question carries.
const maxAttach = 16 << 10

// externDoneMsg: the pager or editor opened on a source exited.
type externDoneMsg struct {
	what string
	err  error
}

// promptEditedMsg: $EDITOR on the prompt exited with text.
type promptEditedMsg struct {
	text string
	err  error
}

// attachedMsg: the @path files of a question are read; text is what the
// model gets, shown what the user typed.
type attachedMsg struct {
	shown, text string
	notes       []string
}

// program returns the command line in the first environment variable
// set, or def.
func program(def string, vars ...string) []string {
	for _, v := range vars {
		if f := strings.Fields(os.Getenv(v)); len(f) > 0 {
			return f
		}
	}
	return []string{def}
}

// openSourceCmd shows it's file at its first line: `$PAGER +N PATH` (less
// by default) or `$EDITOR +N PATH` (vi by default).
func openSourceCmd(it sources.Item, edit bool) tea.Cmd {
	if _, err := os.Stat(it.Path); err != nil {
		return func() tea.Msg {
			return ErrMsg{"open", hint.New(fmt.Errorf("open %s: %w", it.Path, err), "the vault keeps its text, but the file is not on this disk any more: /search shows the passage")}
		}
	}
	argv := program("less", "PAGER")
	what := "pager"
	if edit {
		argv, what = program("vi", "VISUAL", "EDITOR"), "editor"
	}
	line := max(it.StartLine, 1)
	argv = append(argv, "+"+strconv.Itoa(line), it.Path)
	c := exec.Command(argv[0], argv[1:]...)
	return tea.ExecProcess(c, func(err error) tea.Msg { return externDoneMsg{what: what + " " + argv[0], err: err} })
}

// editPromptCmd opens text in $EDITOR and returns what the file holds
// when the editor exits.
func editPromptCmd(text string) tea.Cmd {
	f, err := os.CreateTemp("", "nook-prompt-*.md")
	if err == nil {
		_, err = f.WriteString(text)
		if cerr := f.Close(); err == nil {
			err = cerr
		}
	}
	if err != nil {
		return func() tea.Msg { return promptEditedMsg{text: text, err: fmt.Errorf("edit the prompt: %w", err)} }
	}
	argv := append(program("vi", "VISUAL", "EDITOR"), f.Name())
	c := exec.Command(argv[0], argv[1:]...)
	return tea.ExecProcess(c, func(err error) tea.Msg {
		defer os.Remove(f.Name())
		if err != nil {
			return promptEditedMsg{text: text, err: fmt.Errorf("edit the prompt with %s: %w", argv[0], err)}
		}
		b, rerr := os.ReadFile(f.Name())
		if rerr != nil {
			return promptEditedMsg{text: text, err: fmt.Errorf("edit the prompt: %w", rerr)}
		}
		return promptEditedMsg{text: strings.TrimRight(string(b), "\n")}
	})
}

// hasAttach reports whether text names a file with @.
func hasAttach(text string) bool {
	for _, w := range strings.Fields(text) {
		if len(w) > 1 && w[0] == '@' {
			return true
		}
	}
	return false
}

// attachCmd reads the files text names as @path and appends them to the
// question; a word that is no file is left as text (with a note when it
// looks like a path).
func attachCmd(text string) tea.Cmd {
	return func() tea.Msg {
		out := attachedMsg{shown: text, text: text}
		var files []string
		for _, w := range strings.Fields(text) {
			if len(w) < 2 || w[0] != '@' {
				continue
			}
			p := strings.TrimRight(w[1:], ",;:!?)")
			if strings.HasPrefix(p, "~/") {
				if home, err := os.UserHomeDir(); err == nil {
					p = filepath.Join(home, p[2:])
				}
			}
			body, note := readAttach(p)
			if note != "" {
				out.notes = append(out.notes, note)
			}
			if body != "" {
				files = append(files, fmt.Sprintf("File %s:\n```\n%s\n```", p, body))
			}
		}
		if len(files) > 0 {
			out.text = text + "\n\n" + strings.Join(files, "\n\n")
		}
		return out
	}
}

// readAttach returns the text of one @path file (at most maxAttach bytes)
// and a one-line note about it.
func readAttach(p string) (string, string) {
	st, err := os.Stat(p)
	if err != nil {
		if errors.Is(err, os.ErrNotExist) && !strings.ContainsAny(p, "/.") {
			return "", "" // "@bob": a word, not a file
		}
		return "", fmt.Sprintf("@%s not attached: %v", p, unwrapPath(err))
	}
	if st.IsDir() {
		return "", fmt.Sprintf("@%s not attached: it is a folder (/add puts folders in the vault)", p)
	}
	f, err := os.Open(p)
	if err != nil {
		return "", fmt.Sprintf("@%s not attached: %v", p, unwrapPath(err))
	}
	defer f.Close()
	buf := make([]byte, maxAttach)
	n, err := io.ReadFull(f, buf)
	if err != nil && !errors.Is(err, io.ErrUnexpectedEOF) && !errors.Is(err, io.EOF) {
		return "", fmt.Sprintf("@%s not attached: %v", p, unwrapPath(err))
	}
	b := buf[:n]
	if bytes.IndexByte(b, 0) >= 0 {
		return "", fmt.Sprintf("@%s not attached: it is not text (/add reads PDFs and documents into the vault)", p)
	}
	if st.Size() > maxAttach {
		return strings.ToValidUTF8(string(b), ""), fmt.Sprintf("attached the first %d KB of %s (%s): /add it to the vault to ask about all of it", maxAttach>>10, p, size(st.Size()))
	}
	return string(b), fmt.Sprintf("attached %s (%s)", p, size(st.Size()))
}

func unwrapPath(err error) error {
	var pe *os.PathError
	if errors.As(err, &pe) {
		return pe.Err
	}
	return err
}

func size(n int64) string {
	switch {
	case n >= 1<<20:
		return fmt.Sprintf("%.1f MB", float64(n)/(1<<20))
	case n >= 1<<10:
		return fmt.Sprintf("%.1f KB", float64(n)/(1<<10))
	}
	return fmt.Sprintf("%d bytes", n)
}

// pathCompletedMsg: the @path being typed at the end of from completes to
// to (the longest common prefix of the names that fit).
type pathCompletedMsg struct{ from, to string }

// atPath returns the @path word at the end of text ("" when the last word
// is not one).
func atPath(text string) string {
	i := strings.LastIndexAny(text, " \n\t")
	w := text[i+1:]
	if len(w) < 1 || w[0] != '@' {
		return ""
	}
	return w[1:]
}

// completePathCmd completes the @path at the end of text from the folder
// it names.
func completePathCmd(text string) tea.Cmd {
	return func() tea.Msg {
		p := atPath(text)
		dir, base := filepath.Split(p)
		look := dir
		if strings.HasPrefix(look, "~/") {
			if home, err := os.UserHomeDir(); err == nil {
				look = filepath.Join(home, look[2:])
			}
		}
		if look == "" {
			look = "."
		}
		ents, err := os.ReadDir(look)
		if err != nil {
			return nil
		}
		var names []string
		for _, e := range ents {
			n := e.Name()
			if !strings.HasPrefix(n, base) || strings.HasPrefix(n, ".") && !strings.HasPrefix(base, ".") {
				continue
			}
			if e.IsDir() {
				n += string(filepath.Separator)
			}
			names = append(names, n)
		}
		if len(names) == 0 {
			return nil
		}
		common := names[0]
		for _, n := range names[1:] {
			for !strings.HasPrefix(n, common) {
				common = common[:len(common)-1]
			}
		}
		if common == base {
			return nil
		}
		return pathCompletedMsg{from: text, to: text[:len(text)-len(base)] + common}
	}
}
