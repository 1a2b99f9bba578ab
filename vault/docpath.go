package vault

import (
	"encoding/base64"
	"encoding/json"
	"errors"
	"unicode/utf8"

	jsonv1 "github.com/go-json-experiment/json/v1"
)

// A document's source path is its key, and a key is any bytes (a Linux
// file name need not be UTF-8). JSON strings cannot hold such bytes
// (encoding/json replaces them with U+FFFD, and two names that differ only
// there would collide), so a document object carries a path that is not
// valid UTF-8 as path_b64, as log entries carry such keys as key_b64.

type docObjectJSON docObject

type docObjectB64 struct {
	docObjectJSON
	PathB64 string `json:"path_b64,omitempty"`
}

// MarshalJSON writes the path as path_b64 when it is not valid UTF-8.
func (d docObject) MarshalJSON() ([]byte, error) {
	if utf8.ValidString(d.Path) {
		return json.Marshal(docObjectJSON(d))
	}
	w := docObjectB64{docObjectJSON: docObjectJSON(d), PathB64: base64.StdEncoding.EncodeToString([]byte(d.Path))}
	w.Path = ""
	return json.Marshal(w)
}

// UnmarshalJSON reads path_b64 back into the path. It decodes with the
// go-json-experiment module's v1 API: encoding/json's behaviour (the Go
// team's implementation of it on the encoding/json/v2 decoder, which Go
// 1.27 makes the standard library's) at twice the speed of encoding/json
// on a document with vectors, and a first sync decodes every document it
// receives (FuzzDecodeDocAsEncodingJSON holds the two to the same result).
func (d *docObject) UnmarshalJSON(b []byte) error { return d.decodeWith(jsonv1.Unmarshal, b) }

func (d *docObject) decodeWith(unmarshal func([]byte, any) error, b []byte) error {
	var w docObjectB64
	if err := unmarshal(b, &w); err != nil {
		return err
	}
	*d = docObject(w.docObjectJSON)
	if w.PathB64 != "" {
		p, err := base64.StdEncoding.DecodeString(w.PathB64)
		if err != nil || w.Path != "" || utf8.Valid(p) {
			return errors.New("bad path_b64")
		}
		d.Path = string(p)
	}
	return nil
}
