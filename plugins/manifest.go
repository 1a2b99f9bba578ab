package plugins

import (
	"bytes"
	"crypto/ecdsa"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strings"

	"github.com/BurntSushi/toml"
	"github.com/ethereum/go-ethereum/accounts"
	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/crypto"

	"github.com/nook-ai/nook/internal/hint"
	"github.com/nook-ai/nook/ledgerclient"
)

// ManifestFile is the manifest's name in a plugin's folder.
const ManifestFile = "plugin.toml"

// Scopes a manifest may ask for.
const (
	ScopeTool          = "tool"
	ScopeVaultRead     = "vault:read:"  // + tag
	ScopeVaultWrite    = "vault:write:" // + tag
	canonicalVersion   = 1
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

	Dir string `toml:"-"`
}

// Run says how to reach the plugin: a command over stdio, or a URL.
type Run struct {
	// Command is a path relative to the plugin's folder (./units), an
	// absolute path, or a name looked up in PATH.
	Command string   `toml:"command,omitempty"`
	Args    []string `toml:"args,omitempty"`
	// SHA256, when set, is the hex SHA-256 of the command's file; the host
	// refuses to start a file that does not match.
	SHA256 string `toml:"sha256,omitempty"`
	// URL is a streamable-HTTP MCP endpoint, instead of Command.
	URL string `toml:"url,omitempty"`
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
	if fi, err := os.Stat(path); err == nil && fi.IsDir() {
		path = filepath.Join(path, ManifestFile)
	}
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("plugins: %w", err)
	}
	m, err := ParseManifest(data)
	if err != nil {
		return nil, fmt.Errorf("%w (in %s)", err, path)
	}
	if err := m.Verify(); err != nil {
		return nil, err
	}
	m.Dir, _ = filepath.Abs(filepath.Dir(path))
	return m, nil
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
	if m.Run.URL != "" {
		u, err := url.Parse(m.Run.URL)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			return bad("[run] url %q is not an http(s) URL", m.Run.URL)
		}
		if len(m.Run.Args) > 0 || m.Run.SHA256 != "" {
			return bad("[run] args and sha256 go with command, not url")
		}
	}
	if m.Run.SHA256 != "" {
		if b, err := hex.DecodeString(m.Run.SHA256); err != nil || len(b) != 32 {
			return bad("[run] sha256 %q is not 64 hex digits", m.Run.SHA256)
		}
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
	DataTag     string   `json:"data_tag"`
	Receive     string   `json:"receive"`
}

// Canonical is the byte string the publisher signs: compact JSON of every
// field but the signature, in a fixed order, publisher in lowercase hex,
// absent lists as [].
func (m *Manifest) Canonical() []byte {
	c := canonical{
		Format: canonicalVersion, ID: m.ID, Version: m.Version, Description: m.Description,
		Publisher: strings.ToLower(m.PublisherAddress().Hex()), Scopes: nonNil(m.Scopes),
		Command: m.Run.Command, Args: nonNil(m.Run.Args), SHA256: strings.ToLower(m.Run.SHA256), URL: m.Run.URL,
		DataTag: m.Data.Tag, Receive: m.Data.Receive,
	}
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

// Sign sets Publisher to key's address and Signature to its signature.
func (m *Manifest) Sign(key *ecdsa.PrivateKey) error {
	m.Publisher = crypto.PubkeyToAddress(key.PublicKey).Hex()
	m.Signature = ""
	if err := m.Validate(); err != nil {
		return err
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
