package plugins

import (
	"context"
	"crypto/ecdsa"
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"encoding/hex"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"os"
	"strings"
	"time"

	"github.com/nook-ai/nook/internal/atomicfile"
	"github.com/nook-ai/nook/internal/hint"
)

// spkiSHA256 is the hex SHA-256 of a certificate's SubjectPublicKeyInfo.
func spkiSHA256(c *x509.Certificate) string {
	sum := sha256.Sum256(c.RawSubjectPublicKeyInfo)
	return hex.EncodeToString(sum[:])
}

// PinServer records in [run] tls_key_sha256 the public key of the https
// server at [run] url, as the publisher's machine sees it now; nothing
// to do for other plugins. The certificate's issuer is not checked: the
// publisher signs the key they see, and nook then trusts that key only.
func (m *Manifest) PinServer(ctx context.Context) error {
	u, err := url.Parse(m.Run.URL)
	if err != nil || u.Scheme != "https" {
		return nil
	}
	addr := u.Host
	if u.Port() == "" {
		addr = net.JoinHostPort(u.Hostname(), "443")
	}
	d := tls.Dialer{NetDialer: &net.Dialer{Timeout: 15 * time.Second},
		Config: &tls.Config{InsecureSkipVerify: true, ServerName: u.Hostname(), MinVersion: tls.VersionTLS12}}
	conn, err := d.DialContext(ctx, "tcp", addr)
	if err != nil {
		return hint.New(fmt.Errorf("plugins: %s: fetch the TLS key of %s: %w", m.ID, addr, err), "start the plugin's server, then sign again")
	}
	defer conn.Close()
	certs := conn.(*tls.Conn).ConnectionState().PeerCertificates
	if len(certs) == 0 {
		return fmt.Errorf("plugins: %s: %s sent no certificate", m.ID, addr)
	}
	m.Run.TLSKey = spkiSHA256(certs[0])
	return nil
}

// SignFile signs the plugin.toml at path (or in the folder path) with key
// and writes it back, as `nook plug sign` does: it records the SHA-256 of
// the program the manifest runs (or the https server's key) so that the
// signature covers it.
func SignFile(ctx context.Context, path string, key *ecdsa.PrivateKey) (*Manifest, error) {
	m, path, err := readManifest(path)
	if err != nil {
		return nil, err
	}
	if err := m.PinServer(ctx); err != nil {
		return nil, err
	}
	if err := m.Sign(key); err != nil {
		return nil, err
	}
	out, err := m.Encode()
	if err != nil {
		return nil, err
	}
	if err := atomicfile.WriteFile(path, out, 0o755); err != nil {
		return nil, fmt.Errorf("plugins: %w", err)
	}
	os.Chmod(path, 0o644)
	return m, nil
}

// pinnedClient is the HTTP client for a plugin reached by URL: it talks
// to the https server holding the pinned key only, and follows no
// redirect off the signed URL's host.
func (m *Manifest) pinnedClient() *http.Client {
	u, _ := url.Parse(m.Run.URL)
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.Proxy = nil // the signed URL is where the plugin is
	if u != nil && u.Scheme == "https" {
		pin := strings.ToLower(m.Run.TLSKey)
		tr.TLSClientConfig = &tls.Config{
			MinVersion:         tls.VersionTLS12,
			InsecureSkipVerify: true, // replaced by the pin below
			VerifyConnection: func(cs tls.ConnectionState) error {
				if len(cs.PeerCertificates) == 0 {
					return fmt.Errorf("plugins: %s: the server sent no certificate", m.ID)
				}
				if got := spkiSHA256(cs.PeerCertificates[0]); got != pin || pin == "" {
					return fmt.Errorf("%w: the server's TLS key %.12s… is not the pinned %.12s…", ErrProgramChanged, got, pin)
				}
				return nil
			},
		}
	}
	return &http.Client{
		Transport: tr,
		CheckRedirect: func(req *http.Request, via []*http.Request) error {
			if u == nil || req.URL.Scheme != u.Scheme || req.URL.Host != u.Host {
				return errors.New("plugins: redirect away from the signed URL refused")
			}
			return nil
		},
	}
}
