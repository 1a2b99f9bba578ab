package vault

import (
	"bytes"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/binary"
	"encoding/gob"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"

	"filippo.io/age"
)

// The index snapshot, cache/index.age: age ciphertext of
//
//	"nook-index/1\n" | uint64 LE length | gob(snapshotMeta) | chromem-go export (gob) | HMAC-SHA256
//
// The HMAC (key derived from the vault identity) proves the vault wrote it:
// anyone can encrypt to the public recipient. A snapshot that is missing,
// stale or fails any check is ignored and the index is rebuilt from the log
// and the objects.

const snapshotMagic = "nook-index/1\n"

type snapshotMeta struct {
	Vault  string
	Heads  map[string]head
	State  map[string]map[string]stateRef
	Docs   map[string]*idxDoc
	Chunks []idxChunk // by slot; Source == "" marks a removed chunk
}

func (v *Vault) snapshotPath() string { return filepath.Join(v.dir, "cache", "index.age") }

func (v *Vault) saveSnapshotLocked() error {
	if !v.dirty {
		return nil
	}
	meta := snapshotMeta{Vault: v.id, Heads: v.heads, State: v.state, Docs: v.idx.docs, Chunks: make([]idxChunk, len(v.idx.chunks))}
	for i, c := range v.idx.chunks {
		if c != nil {
			meta.Chunks[i] = *c
		}
	}
	var mb bytes.Buffer
	if err := gob.NewEncoder(&mb).Encode(&meta); err != nil {
		return fmt.Errorf("vault: encode index: %w", err)
	}
	var ct bytes.Buffer
	aw, err := age.Encrypt(&ct, v.recipient)
	if err != nil {
		return fmt.Errorf("vault: encrypt index: %w", err)
	}
	mac := hmac.New(sha256.New, v.keys.mac)
	w := io.MultiWriter(aw, mac)
	var n [8]byte
	binary.LittleEndian.PutUint64(n[:], uint64(mb.Len()))
	io.WriteString(w, snapshotMagic)
	w.Write(n[:])
	w.Write(mb.Bytes())
	if err := v.idx.db.ExportToWriter(w, false, "", collectionName); err != nil {
		return fmt.Errorf("vault: export vectors: %w", err)
	}
	aw.Write(mac.Sum(nil))
	if err := aw.Close(); err != nil {
		return fmt.Errorf("vault: encrypt index: %w", err)
	}
	if err := writeFileAtomic(v.snapshotPath(), ct.Bytes()); err != nil {
		return fmt.Errorf("vault: write %s: %w", v.snapshotPath(), err)
	}
	v.dirty = false
	return nil
}

// loadSnapshot restores heads, state and index from the snapshot when it
// is sound; otherwise it leaves them empty (full replay follows).
func (v *Vault) loadSnapshot() {
	data, err := os.ReadFile(v.snapshotPath())
	if errors.Is(err, fs.ErrNotExist) {
		v.dirty = true
		return
	}
	if err == nil {
		err = v.decodeSnapshot(data)
	}
	if err != nil {
		v.problems = append(v.problems, fmt.Errorf("vault: index %s: %w: %v (rebuilt from objects)", v.snapshotPath(), ErrCorrupt, err))
		v.heads = map[string]head{}
		v.state = map[string]map[string]stateRef{}
		v.idx = newIndex()
		v.dirty = true
	}
}

func (v *Vault) decodeSnapshot(data []byte) error {
	plain, err := v.decrypt(data, 16<<30)
	if err != nil {
		return err
	}
	if len(plain) < len(snapshotMagic)+8+sha256.Size || !bytes.HasPrefix(plain, []byte(snapshotMagic)) {
		return errors.New("not an index snapshot")
	}
	body, tag := plain[:len(plain)-sha256.Size], plain[len(plain)-sha256.Size:]
	mac := hmac.New(sha256.New, v.keys.mac)
	mac.Write(body)
	if !hmac.Equal(mac.Sum(nil), tag) {
		return errors.New("authentication failed")
	}
	rest := body[len(snapshotMagic):]
	n := binary.LittleEndian.Uint64(rest)
	rest = rest[8:]
	if n > uint64(len(rest)) {
		return errors.New("bad length")
	}
	var meta snapshotMeta
	if err := gob.NewDecoder(bytes.NewReader(rest[:n])).Decode(&meta); err != nil {
		return err
	}
	if meta.Vault != v.id {
		return errors.New("snapshot of another vault")
	}
	x := newIndex()
	if err := x.db.ImportFromReader(bytes.NewReader(rest[n:]), "", collectionName); err != nil {
		return err
	}
	x.col = x.db.GetCollection(collectionName, noEmbed)
	if x.col == nil {
		return errors.New("no vector collection")
	}
	x.chunks = make([]*idxChunk, len(meta.Chunks))
	for i := range meta.Chunks {
		if meta.Chunks[i].Source != "" {
			c := &meta.Chunks[i]
			x.chunks[i] = c
			x.addPostings(int32(i), c)
		}
	}
	if meta.Docs != nil {
		x.docs = meta.Docs
	}
	v.idx = x
	v.heads = meta.Heads
	if v.heads == nil {
		v.heads = map[string]head{}
	}
	v.state = meta.State
	if v.state == nil {
		v.state = map[string]map[string]stateRef{}
	}
	return nil
}

// rebuildIndex drops the snapshot state and rebuilds everything from the log
// and the objects.
func (v *Vault) rebuildIndex() error {
	v.heads = map[string]head{}
	v.state = map[string]map[string]stateRef{}
	v.idx = newIndex()
	v.logBroken = nil
	v.dirty = true
	changed, err := v.catchUp()
	if err != nil {
		return err
	}
	v.syncIndex(changed)
	return nil
}
