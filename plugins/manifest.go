package plugins

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"

	"github.com/BurntSushi/toml"
	"github.com/ethereum/go-ethereum/accounts"
	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/crypto"

	"github.com/nook-ai/nook/internal/harden"
	"github.com/nook-ai/nook/internal/hint"
	"github.com/nook-ai/nook/internal/termsafe"
	"github.com/nook-ai/nook/ledgerclient"
)

// ManifestFile is the manifest's name in a plugin's folder.
const ManifestFile = "plugin.toml"

// Scopes a manifest may ask for.
const (
	ScopeTool          = "tool"
	ScopeVaultRead     = "vault:read:"  // + tag
	ScopeVaultWrite    = "vault:write:" // + tag
	canonicalVersion   = 2
	maxManifestSize    = 64 << 10
	signatureHexLength = 2 + 65*2
)

// Manifest describes a plugin (plugin.toml). Everything but Signature is
// covered by the signature; Dir is where it was read from.
type Manifest struct {
	// Signature is the publisher's EIP-191 (personal_sign) secp256k1
	// signature of Canonical(), 0x-prefixed hex of r‖s‖v.
	Signature   string   `toml:"signature"`
	ID          string   `toml:"id"`
	Version     string   `toml:"version,omitempty"`
	Description string   `toml:"description"`
	Publisher   string   `toml:"publisher"` // 0x address of the publisher's key
	Scopes      []string `toml:"scopes"`
	Run         Run      `toml:"run"`
	Data        Data     `toml:"data,omitempty"`
	Sandbox     Sandbox  `toml:"sandbox,omitempty"`

	Dir string `toml:"-"`
}

// Run says how to reach the plugin: a command over stdio, or a URL.
type Run struct {
	// Command is a path relative to the plugin's folder (./units), an
	// absolute path, or a name looked up in PATH.
	Command string   `toml:"command,omitempty"`
	Args    []string `toml:"args,omitempty"`
	// SHA256 is the hex SHA-256 of the command's file, recorded by Sign
	// (nook plug sign): the signature covers the program, and nook refuses
	// to install or start a file that does not match.
	SHA256 string `toml:"sha256,omitempty"`
	// URL is a streamable-HTTP MCP endpoint, instead of Command: https, or
	// http on a loopback address only.
	URL string `toml:"url,omitempty"`
	// TLSKey is, for an https URL, the hex SHA-256 of the server
	// certificate's public key (SubjectPublicKeyInfo), recorded by
	// PinServer (nook plug sign): nook talks only to a server holding that
	// key, whoever signed its certificate.
	TLSKey string `toml:"tls_key_sha256,omitempty"`
}

// Sandbox is what the plugin's process may reach besides the system
// folders a program needs, its own folder (read) and a private temp
// folder (TMPDIR, read and write). Paths are absolute, ~/…, or relative to
// the plugin's folder. NOOK_HOME and the config folder are never granted.
type Sandbox struct {
	// Read are folders or files it may read.
	Read []string `toml:"read,omitempty"`
	// Write are folders or files it may read and write.
	Write []string `toml:"write,omitempty"`
	// Net lets it open TCP (and UDP) connections.
	Net bool `toml:"net,omitempty"`
	// Env names environment variables it receives from nook's, besides
	// PATH, HOME, USER, LANG, LC_*, TMPDIR and TZ; never NOOK_* or
	// anything named like a secret.
	Env []string `toml:"env,omitempty"`
}

// Data describes a data plug.
type Data struct {
	// Tag is the vault tag its resources are ingested under (needs the
	// scope vault:write:<Tag>).
	Tag string `toml:"tag,omitempty"`
	// Receive names the tool that receives documents on export (needs
	// vault:read:<tag> for each tag exported).
	Receive string `toml:"receive,omitempty"`
}

var (
	idRE  = regexp.MustCompile(`^[a-z][a-z0-9-]{0,31}$`)
	tagRE = regexp.MustCompile(`^[A-Za-z0-9_.-]{1,48}$`)

	// ErrBadSignature: the manifest is not signed by its publisher.
	ErrBadSignature = errors.New("manifest signature does not match its publisher")
	// ErrNotFound: no plugin of that id is installed.
	ErrNotFound = errors.New("plugin not installed")
	// ErrNotPinned: the signed manifest does not pin the plugin's program
	// (no [run] sha256) or its https server's key (no tls_key_sha256).
	ErrNotPinned = errors.New("manifest signature does not cover the plugin's program")
	// ErrProgramChanged: the program (or the https server's key) is not
	// the one the publisher signed.
	ErrProgramChanged = errors.New("plugin program is not the one its publisher signed")

	envNameRE = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]{0,63}$`)
)

// ParseManifest decodes and validates a manifest. It does not check the
// signature: use Verify (LoadManifest does both).
func ParseManifest(data []byte) (*Manifest, error) {
	if len(data) > maxManifestSize {
		return nil, fmt.Errorf("plugins: manifest is %d bytes, more than %d", len(data), maxManifestSize)
	}
	var m Manifest
	md, err := toml.Decode(string(data), &m)
	if err != nil {
		return nil, fmt.Errorf("plugins: manifest: %w", err)
	}
	if und := md.Undecoded(); len(und) > 0 {
		return nil, fmt.Errorf("plugins: manifest: unknown key %q", und[0].String())
	}
	if err := m.Validate(); err != nil {
		return nil, err
	}
	return &m, nil
}

// LoadManifest reads path (a plugin.toml, or a folder holding one),
// validates it and verifies its signature.
func LoadManifest(path string) (*Manifest, error) {
	m, _, err := readManifest(path)
	if err != nil {
		return nil, err
	}
	if err := m.Verify(); err != nil {
		return nil, err
	}
	return m, nil
}

// readManifest reads and validates path (a plugin.toml, or a folder
// holding one) without checking its signature, and sets Dir. It returns
// the manifest file's path.
func readManifest(path string) (*Manifest, string, error) {
	if fi, err := os.Stat(path); err == nil && fi.IsDir() {
		path = filepath.Join(path, ManifestFile)
	}
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, "", fmt.Errorf("plugins: %w", err)
	}
	m, err := ParseManifest(data)
	if err != nil {
		return nil, "", fmt.Errorf("%w (in %s)", err, path)
	}
	if m.Dir, err = filepath.Abs(filepath.Dir(path)); err != nil {
		return nil, "", fmt.Errorf("plugins: %w", err)
	}
	return m, path, nil
}

// ValidTag checks a vault tag named in a scope.
func ValidTag(tag string) error {
	if !tagRE.MatchString(tag) {
		return fmt.Errorf("plugins: tag %q must be 1 to 48 letters, digits, '.', '_' or '-'", tag)
	}
	return nil
}

// ValidScope checks a plugin scope: tool, vault:read:<tag>, vault:write:<tag>.
func ValidScope(s string) error {
	if err := ledgerclient.ValidScope(s); err != nil {
		return err
	}
	switch {
	case s == ScopeTool:
		return nil
	case strings.HasPrefix(s, ScopeVaultRead):
		return ValidTag(strings.TrimPrefix(s, ScopeVaultRead))
	case strings.HasPrefix(s, ScopeVaultWrite):
		return ValidTag(strings.TrimPrefix(s, ScopeVaultWrite))
	}
	return fmt.Errorf("plugins: scope %q is not tool, vault:read:<tag> or vault:write:<tag>", s)
}

// Validate checks the fields (not the signature).
func (m *Manifest) Validate() error {
	bad := func(format string, a ...any) error {
		return fmt.Errorf("plugins: manifest %q: "+format, append([]any{m.ID}, a...)...)
	}
	if !idRE.MatchString(m.ID) {
		return bad("id must be a lowercase letter then up to 31 of a-z, 0-9, '-'")
	}
	if !common.IsHexAddress(m.Publisher) {
		return bad("publisher %q is not an address", m.Publisher)
	}
	if (m.Run.Command == "") == (m.Run.URL == "") {
		return bad("[run] needs exactly one of command or url")
	}
	for what, text := range map[string]string{"description": m.Description, "version": m.Version, "[run] command": m.Run.Command} {
		if !termsafe.Clean(text) || strings.ContainsAny(text, "\n\t") {
			return bad("%s holds control characters", what)
		}
	}
	for _, a := range m.Run.Args {
		if termsafe.Line(a) != a {
			return bad("[run] args hold control characters")
		}
	}
	if m.Run.URL != "" {
		u, err := url.Parse(m.Run.URL)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			return bad("[run] url %q is not an http(s) URL", m.Run.URL)
		}
		if u.Scheme == "http" && !loopback(u.Hostname()) {
			return bad("[run] url %q sends tool calls and documents in clear over the network: use https (or http on 127.0.0.1)", m.Run.URL)
		}
		if len(m.Run.Args) > 0 || m.Run.SHA256 != "" {
			return bad("[run] args and sha256 go with command, not url")
		}
		if u.Scheme != "https" && m.Run.TLSKey != "" {
			return bad("[run] tls_key_sha256 goes with an https url")
		}
		if m.Sandbox.Net || len(m.Sandbox.Read)+len(m.Sandbox.Write)+len(m.Sandbox.Env) > 0 {
			return bad("[sandbox] goes with command: nook runs no process for a url")
		}
	} else if m.Run.TLSKey != "" {
		return bad("[run] tls_key_sha256 goes with an https url, not command")
	}
	for what, h := range map[string]string{"sha256": m.Run.SHA256, "tls_key_sha256": m.Run.TLSKey} {
		if b, err := hex.DecodeString(h); h != "" && (err != nil || len(b) != sha256.Size) {
			return bad("[run] %s %q is not 64 hex digits", what, h)
		}
	}
	if err := m.Sandbox.validate(); err != nil {
		return bad("%v", err)
	}
	if len(m.Scopes) == 0 {
		return bad("asks for no scopes")
	}
	seen := map[string]bool{}
	for _, s := range m.Scopes {
		if err := ValidScope(s); err != nil {
			return fmt.Errorf("plugins: manifest %q: %w", m.ID, err)
		}
		if seen[s] {
			return bad("scope %q listed twice", s)
		}
		seen[s] = true
	}
	if m.Data.Tag != "" {
		if err := ValidTag(m.Data.Tag); err != nil {
			return fmt.Errorf("plugins: manifest %q: [data] %w", m.ID, err)
		}
		if !seen[ScopeVaultWrite+m.Data.Tag] {
			return bad("[data] tag %q needs the scope %q in scopes", m.Data.Tag, ScopeVaultWrite+m.Data.Tag)
		}
	}
	if m.Data.Receive != "" && len(m.ReadTags()) == 0 {
		return bad("[data] receive needs a vault:read:<tag> scope")
	}
	if m.Signature != "" && (len(m.Signature) != signatureHexLength || !strings.HasPrefix(m.Signature, "0x")) {
		return bad("signature is not 0x followed by 130 hex digits")
	}
	return nil
}

// PublisherAddress is the publisher's address: the delegate of the grants.
func (m *Manifest) PublisherAddress() common.Address { return common.HexToAddress(m.Publisher) }

// ReadTags lists the tags of the manifest's vault:read scopes.
func (m *Manifest) ReadTags() []string {
	var out []string
	for _, s := range m.Scopes {
		if t, ok := strings.CutPrefix(s, ScopeVaultRead); ok {
			out = append(out, t)
		}
	}
	return out
}

// canonical is what is signed, in a fixed field order.
type canonical struct {
	Format      int      `json:"nook-plugin-manifest"`
	ID          string   `json:"id"`
	Version     string   `json:"version"`
	Description string   `json:"description"`
	Publisher   string   `json:"publisher"`
	Scopes      []string `json:"scopes"`
	Command     string   `json:"command"`
	Args        []string `json:"args"`
	SHA256      string   `json:"sha256"`
	URL         string   `json:"url"`
	TLSKey      string   `json:"tls_key_sha256"`
	DataTag     string   `json:"data_tag"`
	Receive     string   `json:"receive"`
	Sandbox     struct {
		Read  []string `json:"read"`
		Write []string `json:"write"`
		Net   bool     `json:"net"`
		Env   []string `json:"env"`
	} `json:"sandbox"`
}

// Canonical is the byte string the publisher signs: compact JSON of every
// field but the signature, in a fixed order, publisher and hashes in
// lowercase hex, absent lists as [] (format 2: format 1 had no
// tls_key_sha256 and no sandbox, and its sha256 was optional).
func (m *Manifest) Canonical() []byte {
	c := canonical{
		Format: canonicalVersion, ID: m.ID, Version: m.Version, Description: m.Description,
		Publisher: strings.ToLower(m.PublisherAddress().Hex()), Scopes: nonNil(m.Scopes),
		Command: m.Run.Command, Args: nonNil(m.Run.Args), SHA256: strings.ToLower(m.Run.SHA256), URL: m.Run.URL,
		TLSKey: strings.ToLower(m.Run.TLSKey), DataTag: m.Data.Tag, Receive: m.Data.Receive,
	}
	c.Sandbox.Read, c.Sandbox.Write = nonNil(m.Sandbox.Read), nonNil(m.Sandbox.Write)
	c.Sandbox.Net, c.Sandbox.Env = m.Sandbox.Net, nonNil(m.Sandbox.Env)
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	_ = enc.Encode(c) // strings and string slices always encode
	return bytes.TrimSuffix(buf.Bytes(), []byte("\n"))
}

func nonNil(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}

// Sign records the SHA-256 of the program the manifest runs (resolved as
// the host resolves it: relative to Dir, absolute, or on PATH), then sets
// Publisher to key's address and Signature to its signature, which so
// covers the program. An https plugin must have its server's key pinned
// first (PinServer).
func (m *Manifest) Sign(key *ecdsa.PrivateKey) error {
	m.Publisher = crypto.PubkeyToAddress(key.PublicKey).Hex()
	m.Signature = ""
	if err := m.Validate(); err != nil {
		return err
	}
	if m.Run.Command != "" {
		path, err := m.ProgramPath()
		if err != nil {
			return hint.New(err, "build or install the program first: the signature covers its SHA-256")
		}
		sum, err := fileSHA256(path)
		if err != nil {
			return fmt.Errorf("plugins: sign %q: %w", m.ID, err)
		}
		m.Run.SHA256 = sum
	}
	if strings.HasPrefix(m.Run.URL, "https://") && m.Run.TLSKey == "" {
		return hint.New(fmt.Errorf("plugins: sign %q: %w: the https server's key is not pinned", m.ID, ErrNotPinned),
			"sign with `nook plug sign`, which fetches it from the server (Manifest.PinServer)")
	}
	sig, err := crypto.Sign(accounts.TextHash(m.Canonical()), key)
	if err != nil {
		return fmt.Errorf("plugins: sign %q: %w", m.ID, err)
	}
	sig[64] += 27 // wallet convention (personal_sign)
	m.Signature = "0x" + hex.EncodeToString(sig)
	return nil
}

// Verify checks that Signature was made by Publisher's key over Canonical().
func (m *Manifest) Verify() error {
	refuse := func(why string) error {
		return hint.New(fmt.Errorf("plugins: %s: %w: %s", m.ID, ErrBadSignature, why),
			"get the plugin again from its publisher; if you are the publisher, sign it with `nook plug sign`")
	}
	if m.Signature == "" {
		return refuse("it has no signature")
	}
	sig, err := hex.DecodeString(strings.TrimPrefix(m.Signature, "0x"))
	if err != nil || len(sig) != 65 {
		return refuse("the signature is not 65 bytes of hex")
	}
	if sig[64] >= 27 {
		sig[64] -= 27
	}
	if sig[64] > 1 {
		return refuse("the signature's recovery id is not 0, 1, 27 or 28")
	}
	pub, err := crypto.SigToPub(accounts.TextHash(m.Canonical()), sig)
	if err != nil {
		return refuse("no key recovers from it")
	}
	if got := crypto.PubkeyToAddress(*pub); got != m.PublisherAddress() {
		return refuse("it was signed by " + got.Hex() + ", not the publisher " + m.PublisherAddress().Hex())
	}
	unpinned := func(what string) error {
		return hint.New(fmt.Errorf("plugins: %s: %w: it has no %s", m.ID, ErrNotPinned, what),
			"get a newer version from its publisher; if you are the publisher, sign it again with `nook plug sign`, which records it")
	}
	if m.Run.Command != "" && m.Run.SHA256 == "" {
		return unpinned("[run] sha256")
	}
	if strings.HasPrefix(m.Run.URL, "https://") && m.Run.TLSKey == "" {
		return unpinned("[run] tls_key_sha256")
	}
	return nil
}

// Encode writes the manifest as TOML.
func (m *Manifest) Encode() ([]byte, error) {
	var buf bytes.Buffer
	if err := toml.NewEncoder(&buf).Encode(m); err != nil {
		return nil, fmt.Errorf("plugins: encode %q: %w", m.ID, err)
	}
	return buf.Bytes(), nil
}

// loopback reports whether host (a URL's hostname) is this machine.
func loopback(host string) bool {
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

func (s Sandbox) validate() error {
	for _, list := range [][]string{s.Read, s.Write} {
		for _, p := range list {
			switch {
			case p == "" || termsafe.Line(p) != p || strings.ContainsRune(p, 0):
				return fmt.Errorf("[sandbox] path %q is empty or holds control characters", p)
			case filepath.IsAbs(p), p == "~", strings.HasPrefix(p, "~/"):
			case !filepath.IsLocal(p):
				return fmt.Errorf("[sandbox] path %q leaves the plugin's folder: write it as an absolute path or ~/…", p)
			}
		}
	}
	for _, k := range s.Env {
		if !envNameRE.MatchString(k) {
			return fmt.Errorf("[sandbox] env %q is not a variable name", k)
		}
		if harden.SecretName(k) {
			return fmt.Errorf("[sandbox] env %q is nook's or looks like a secret, which never reach a plugin: have the plugin read it from a file its [sandbox] read names", k)
		}
	}
	return nil
}

// ProgramPath resolves [run] command as the host runs it: a path with a
// slash is relative to the plugin's folder (Dir) unless absolute, a bare
// name is looked up in PATH.
func (m *Manifest) ProgramPath() (string, error) {
	c := m.Run.Command
	if c == "" {
		return "", fmt.Errorf("plugins: %s: runs no command", m.ID)
	}
	switch {
	case filepath.IsAbs(c):
		return c, nil
	case strings.ContainsRune(c, '/') || strings.ContainsRune(c, filepath.Separator):
		return filepath.Join(m.Dir, c), nil
	}
	lp, err := exec.LookPath(c)
	if err != nil {
		return "", fmt.Errorf("plugins: %s: command %q: %w", m.ID, c, err)
	}
	return lp, nil
}

func fileSHA256(path string) (string, error) {
	f, err := os.Open(path)
	if err != nil {
		return "", err
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return "", err
	}
	if !fi.Mode().IsRegular() {
		return "", fmt.Errorf("%s is not a regular file", path)
	}
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		return "", fmt.Errorf("hash %s: %w", path, err)
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}

// VerifyProgram checks that the program the manifest runs is the one its
// publisher signed ([run] sha256) and returns its path. The host calls it
// before every start, Store.Install before and after copying.
func (m *Manifest) VerifyProgram() (string, error) {
	if m.Run.Command == "" {
		return "", nil
	}
	if m.Run.SHA256 == "" {
		return "", hint.New(fmt.Errorf("plugins: %s: %w: it has no [run] sha256", m.ID, ErrNotPinned),
			"sign it again with `nook plug sign`, which records the program's SHA-256")
	}
	path, err := m.ProgramPath()
	if err != nil {
		return "", hint.New(err, "install the program the manifest names, or reinstall the plugin with `nook plug add`")
	}
	sum, err := fileSHA256(path)
	if err != nil {
		return "", hint.New(fmt.Errorf("plugins: %s: %w", m.ID, err), "reinstall the plugin with `nook plug add`")
	}
	if !strings.EqualFold(sum, m.Run.SHA256) {
		return "", hint.New(fmt.Errorf("plugins: %s: %w: %s has SHA-256 %.12s…, the signature covers %.12s…; refusing to run it", m.ID, ErrProgramChanged, path, sum, strings.ToLower(m.Run.SHA256)),
			"the program changed after it was signed: reinstall the plugin from its publisher with `nook plug add`, or, if you are the publisher, sign it again with `nook plug sign`")
	}
	return path, nil
}

// sandboxPath resolves a [sandbox] path (absolute, ~/…, or relative to
// the plugin's folder) to an existing absolute path without links.
func (m *Manifest) sandboxPath(p string) (string, error) {
	abs := p
	switch {
	case p == "~" || strings.HasPrefix(p, "~/"):
		home, err := os.UserHomeDir()
		if err != nil {
			return "", fmt.Errorf("plugins: %s: [sandbox] %s: %w", m.ID, p, err)
		}
		abs = filepath.Join(home, strings.TrimPrefix(p, "~"))
	case !filepath.IsAbs(p):
		abs = filepath.Join(m.Dir, p)
	}
	real, err := filepath.EvalSymlinks(abs)
	if err != nil {
		return "", hint.New(fmt.Errorf("plugins: %s: [sandbox] %s: %w", m.ID, p, err), "create it, or ask the plugin's publisher to fix the manifest")
	}
	return real, nil
}
