package remote

import (
	"errors"
	"testing"
)

func TestPlainHTTPOffLoopbackIsRefused(t *testing.T) {
	t.Parallel()
	for _, c := range []struct {
		url   string
		allow bool
		ok    bool
	}{
		{"http://127.0.0.1:11434", false, true},
		{"http://[::1]:11434", false, true},
		{"http://localhost:8080/v1", false, true},
		{"https://models.example.com/v1", false, true},
		{"http://models.example.com/v1", false, false},
		{"http://192.168.1.20:11434", false, false},
		{"http://192.168.1.20:11434", true, true},
	} {
		_, err := New(Config{Kind: "openai", URL: c.url, Model: "m", AllowHTTP: c.allow})
		if c.ok && err != nil || !c.ok && !errors.Is(err, ErrPlainHTTP) {
			t.Errorf("%s (allow_http %v): %v", c.url, c.allow, err)
		}
	}
}
