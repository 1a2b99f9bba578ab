package remote

import (
	"errors"
	"fmt"
	"net"
	"net/url"

	"github.com/nook-ai/nook/internal/hint"
)

// ErrPlainHTTP: the server is on another machine and its URL is http://.
var ErrPlainHTTP = errors.New("plain HTTP to another machine")

// checkTransport refuses plain HTTP to any host but this machine's
// loopback unless allowed (Config.AllowHTTP): prompts carry the notes
// retrieved for them, and embedding requests whole documents.
func checkTransport(u *url.URL, allow bool) error {
	if u.Scheme != "http" || allow {
		return nil
	}
	host := u.Hostname()
	if host == "localhost" {
		return nil
	}
	if ip := net.ParseIP(host); ip != nil && ip.IsLoopback() {
		return nil
	}
	return hint.New(fmt.Errorf("remote: %s: %w: your questions and notes would cross the network unencrypted", u.Redacted(), ErrPlainHTTP),
		"use an https:// URL, or set remote.allow_http = true in the config if you trust every network between here and the server")
}
