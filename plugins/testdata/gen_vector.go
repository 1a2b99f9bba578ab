//go:build ignore

// gen_vector writes testdata/vector: a plugin folder whose manifest is
// signed (format 2) with a fixed key over a fixed program, and the
// canonical bytes that were signed. Run from plugins/:
//
//	go run testdata/gen_vector.go
package main

import (
	"crypto/sha256"
	"log"
	"os"
	"path/filepath"

	"github.com/ethereum/go-ethereum/crypto"

	"github.com/nook-ai/nook/plugins"
)

func main() {
	seed := sha256.Sum256([]byte("nook plugin manifest test vector"))
	key, err := crypto.ToECDSA(seed[:])
	if err != nil {
		log.Fatal(err)
	}
	dir := filepath.Join("testdata", "vector")
	if err := os.WriteFile(filepath.Join(dir, "vector-plugin"), []byte("#!/bin/sh\necho 'a test vector, not a plugin'\n"), 0o755); err != nil {
		log.Fatal(err)
	}
	m := plugins.Manifest{ID: "vector", Version: "1.0.0", Description: "The test vector of the signed manifest format.",
		Scopes: []string{"tool", "vault:read:notes"}, Run: plugins.Run{Command: "./vector-plugin", Args: []string{"--flag", "x"}},
		Sandbox: plugins.Sandbox{Read: []string{"~/Calendars"}, Write: []string{"out"}, Env: []string{"CALENDAR_URL"}},
		Dir:     dir}
	if err := m.Sign(key); err != nil {
		log.Fatal(err)
	}
	data, err := m.Encode()
	if err != nil {
		log.Fatal(err)
	}
	header := []byte("# expect: verifies; signed by 0x" + crypto.PubkeyToAddress(key.PublicKey).Hex()[2:] + " over canonical.json\n")
	if err := os.WriteFile(filepath.Join(dir, plugins.ManifestFile), append(header, data...), 0o644); err != nil {
		log.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "canonical.json"), m.Canonical(), 0o644); err != nil {
		log.Fatal(err)
	}
}
