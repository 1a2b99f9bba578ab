package vault

import (
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/nook-ai/nook/internal/hint"
	"github.com/nook-ai/nook/vault/internal/format"
)

func (v *Vault) loadDoc(ref string) (*docObject, error) {
	b, err := v.getObject(ref, kindDoc)
	if err != nil {
		return nil, err
	}
	d, err := decodeDoc(b)
	if err != nil {
		return nil, fmt.Errorf("vault: object %s: %w: %v", v.objectPath(ref), ErrCorrupt, err)
	}
	return d, nil
}

// decodeDoc parses a document object's payload. It calls the decoder
// directly: json.Unmarshal would check the whole payload once more
// before handing it to it (sync decodes every document it receives).
func decodeDoc(b []byte) (*docObject, error) {
	var d docObject
	if err := d.UnmarshalJSON(b); err != nil {
		return nil, err
	}
	return &d, nil
}

// putRecord stores payload as an object of kind and points (ns, key) at it.
func (v *Vault) putRecord(ns, kind, key string, payload []byte) error {
	v.mu.Lock()
	defer v.mu.Unlock()
	if err := v.check(); err != nil {
		return err
	}
	ref, err := v.putObject(kind, payload)
	if err != nil {
		return err
	}
	_, err = v.commit([]format.Op{{Op: "put", NS: ns, Key: key, Ref: ref}})
	return err
}

func (v *Vault) getRecord(ns, kind, key string) ([]byte, error) {
	v.mu.Lock()
	if err := v.check(); err != nil {
		v.mu.Unlock()
		return nil, err
	}
	ver, ok := v.st.get(ns, key)
	var ref string
	var missing bool
	if ok {
		ref = ver.Ref
		_, missing = v.missing[ref]
	}
	v.mu.Unlock()
	if !ok || ref == "" {
		return nil, fmt.Errorf("vault: %s %q: %w", ns, key, ErrNotFound)
	}
	if missing {
		return nil, hint.New(fmt.Errorf("vault: %s %q: %w: its object has not reached this device yet", ns, key, ErrNotFound), "sync with the device that wrote it (`nook sync now`)")
	}
	return v.getObject(ref, kind)
}

func (v *Vault) delRecord(ns, key string) (Erased, error) {
	v.mu.Lock()
	defer v.mu.Unlock()
	if err := v.check(); err != nil {
		return Erased{}, err
	}
	if _, ok := v.st.get(ns, key); !ok {
		return Erased{}, fmt.Errorf("vault: %s %q: %w", ns, key, ErrNotFound)
	}
	return v.commit([]format.Op{{Op: "del", NS: ns, Key: key}})
}

func (v *Vault) keysOf(ns string) []string {
	v.mu.Lock()
	defer v.mu.Unlock()
	return v.st.keys(ns)
}

// PutSecret stores data under name, encrypted like everything else (an
// object referenced from the op log). It replaces an earlier value.
func (v *Vault) PutSecret(name string, data []byte) error {
	if name == "" {
		return fmt.Errorf("vault: secret: empty name")
	}
	return v.putRecord(nsSecret, kindSecret, name, data)
}

// Secret returns the secret stored under name; an error wrapping
// ErrNotFound when there is none.
func (v *Vault) Secret(name string) ([]byte, error) {
	return v.getRecord(nsSecret, kindSecret, name)
}

// DeleteSecret removes a secret from the vault's state and erases it.
func (v *Vault) DeleteSecret(name string) error {
	_, err := v.delRecord(nsSecret, name)
	return err
}

// Message is one message of a saved session, shaped like engine.Message.
type Message struct {
	Role    string `json:"role"`
	Content string `json:"content"`
	// ToolCalls and ToolName are kept as the engine's JSON shape.
	ToolCalls json.RawMessage `json:"tool_calls,omitempty"`
	ToolName  string          `json:"tool_name,omitempty"`
}

// Session is a saved conversation.
type Session struct {
	ID       string    `json:"id"`
	Title    string    `json:"title"`
	Created  time.Time `json:"created"`
	Updated  time.Time `json:"updated"`
	Messages []Message `json:"messages"`
}

// SessionInfo is what ListSessions returns.
type SessionInfo struct {
	ID       string    `json:"id"`
	Title    string    `json:"title"`
	Updated  time.Time `json:"updated"`
	Messages int       `json:"messages"`
	// Damaged, when set, says why the session cannot be read here and what
	// to do (the other fields but ID are then empty).
	Damaged string `json:"damaged,omitempty"`
}

// NewSessionID returns a random session id.
func NewSessionID() string {
	b := make([]byte, 8)
	rand.Read(b)
	return hex.EncodeToString(b)
}

// SaveSession stores s (a new object each time; the log points at the
// latest). An empty ID gets a new one, written back into s.
func (v *Vault) SaveSession(s *Session) error {
	if s.ID == "" {
		s.ID = NewSessionID()
	}
	now := time.Now().UTC()
	if s.Created.IsZero() {
		s.Created = now
	}
	s.Updated = now
	b, err := json.Marshal(s)
	if err != nil {
		return fmt.Errorf("vault: session: %w", err)
	}
	return v.putRecord(nsSession, kindSession, s.ID, b)
}

// LoadSession returns the session with id, or an error wrapping ErrNotFound.
func (v *Vault) LoadSession(id string) (*Session, error) {
	b, err := v.getRecord(nsSession, kindSession, id)
	if err != nil {
		return nil, err
	}
	var s Session
	if err := json.Unmarshal(b, &s); err != nil {
		return nil, fmt.Errorf("vault: session %q: %w", id, ErrCorrupt)
	}
	return &s, nil
}

// ListSessions returns every session, most recently updated first.
// Sessions whose object is damaged or missing here are listed last with
// Damaged set (and reported by Problems).
func (v *Vault) ListSessions() ([]SessionInfo, error) {
	var out, damaged []SessionInfo
	for _, id := range v.keysOf(nsSession) {
		s, err := v.LoadSession(id)
		if err != nil {
			v.addProblem(err)
			damaged = append(damaged, SessionInfo{ID: id, Damaged: damageNote(err, "delete the session")})
			continue
		}
		out = append(out, SessionInfo{ID: s.ID, Title: s.Title, Updated: s.Updated, Messages: len(s.Messages)})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Updated.After(out[j].Updated) })
	return append(out, damaged...), nil
}

// damageNote says, for a listing, why an item cannot be read and what to
// do; undo is the way to drop it.
func damageNote(err error, undo string) string {
	if errors.Is(err, ErrNotFound) {
		return "not on this device yet: sync with the device that wrote it (`nook sync now`), or " + undo
	}
	return "damaged on this device: another device may hold it (`nook sync now`), or " + undo + "; `nook vault check` says more"
}

// DeleteSession removes a session and erases it from disk.
func (v *Vault) DeleteSession(id string) (Erased, error) { return v.delRecord(nsSession, id) }

func (v *Vault) addProblem(err error) {
	v.mu.Lock()
	defer v.mu.Unlock()
	v.addProblemLocked(err)
}

// Fact is a remembered piece of information that goes into the system prompt.
type Fact struct {
	ID      string    `json:"id"`
	Text    string    `json:"text"`
	Created time.Time `json:"created"`
	// Damaged, when set (ListFacts only), says why the fact cannot be read
	// here and what to do; Text is then empty.
	Damaged string `json:"damaged,omitempty"`
}

// Remember stores a fact and returns it.
func (v *Vault) Remember(text string) (Fact, error) {
	text = strings.TrimSpace(text)
	if text == "" {
		return Fact{}, fmt.Errorf("vault: remember: empty text")
	}
	f := Fact{ID: NewSessionID()[:8], Text: text, Created: time.Now().UTC()}
	b, _ := json.Marshal(f)
	if err := v.putRecord(nsMemory, kindMemory, f.ID, b); err != nil {
		return Fact{}, err
	}
	return f, nil
}

// Facts returns every remembered fact that can be read, oldest first (what
// goes into a prompt). ListFacts also lists the damaged ones.
func (v *Vault) Facts() ([]Fact, error) {
	all, err := v.ListFacts()
	out := all[:0]
	for _, f := range all {
		if f.Damaged == "" {
			out = append(out, f)
		}
	}
	return out, err
}

// ListFacts returns every remembered fact, oldest first, then those whose
// object is damaged or missing here, with Damaged set (and reported by
// Problems).
func (v *Vault) ListFacts() ([]Fact, error) {
	var out, damaged []Fact
	for _, id := range v.keysOf(nsMemory) {
		b, err := v.getRecord(nsMemory, kindMemory, id)
		var f Fact
		if err == nil {
			if jerr := json.Unmarshal(b, &f); jerr != nil {
				err = fmt.Errorf("vault: memory %q: %w: %v", id, ErrCorrupt, jerr)
			}
		}
		if err != nil {
			v.addProblem(err)
			damaged = append(damaged, Fact{ID: id, Damaged: damageNote(err, "`nook forget "+id+"`")})
			continue
		}
		out = append(out, f)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Created.Before(out[j].Created) })
	return append(out, damaged...), nil
}

// Forget removes facts: the one whose ID is idOrText, or else every fact
// whose text contains idOrText (case-insensitive), and erases them from
// disk. It returns what it removed and erased; none is an error wrapping
// ErrNotFound.
func (v *Vault) Forget(idOrText string) ([]Fact, Erased, error) {
	facts, err := v.ListFacts()
	if err != nil {
		return nil, Erased{}, err
	}
	var gone []Fact
	for _, f := range facts {
		if f.ID == idOrText {
			gone = []Fact{f}
			break
		}
		if idOrText != "" && strings.Contains(strings.ToLower(f.Text), strings.ToLower(idOrText)) {
			gone = append(gone, f)
		}
	}
	if len(gone) == 0 {
		return nil, Erased{}, fmt.Errorf("vault: forget %q: %w", idOrText, ErrNotFound)
	}
	ops := make([]format.Op, len(gone))
	for i, f := range gone {
		ops[i] = format.Op{Op: "del", NS: nsMemory, Key: f.ID}
	}
	v.mu.Lock()
	defer v.mu.Unlock()
	if err := v.check(); err != nil {
		return nil, Erased{}, err
	}
	erased, err := v.commit(ops)
	if err != nil {
		return nil, erased, err
	}
	return gone, erased, nil
}
