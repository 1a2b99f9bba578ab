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
//	"nook-index/2\n" | uvarint length | gob(snapshotMeta) | index section | HMAC-SHA256
//
// (index section: see indexcodec.go). Unlock reads it instead of replaying
// the log and decrypting every object, then applies the log entries written
// after it. The HMAC (key derived from the vault identity) proves the vault
// wrote it: anyone can encrypt to the public recipient. A snapshot that is
// missing, stale or fails any check is ignored and the index is rebuilt
// from the log and the objects.

const snapshotMagic = "nook-index/2\n"

type snapshotMeta struct {
	Vault string
	Heads map[string]head
	State map[string]map[string]stateRef
}

func (v *Vault) snapshotPath() string { return filepath.Join(v.dir, "cache", "index.age") }

func (v *Vault) saveSnapshotLocked() error {
	if !v.dirty {
		return nil
	}
	meta := snapshotMeta{Vault: v.id, Heads: v.heads, State: v.state}
	var mb bytes.Buffer
	if err := gob.NewEncoder(&mb).Encode(&meta); err != nil {
		return fmt.Errorf("vault: encode index: %w", err)
	}
	ib := encodeIndex(v.idx)
	var ct bytes.Buffer
	ct.Grow(len(snapshotMagic) + binary.MaxVarintLen64 + mb.Len() + len(ib) + sha256.Size + 1024)
	aw, err := age.Encrypt(&ct, v.recipient)
	if err != nil {
		return fmt.Errorf("vault: encrypt index: %w", err)
	}
	mac := hmac.New(sha256.New, v.keys.mac)
	w := io.MultiWriter(aw, mac)
	io.WriteString(w, snapshotMagic)
	w.Write(binary.AppendUvarint(nil, uint64(mb.Len())))
	w.Write(mb.Bytes())
	w.Write(ib)
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
	if len(plain) < len(snapshotMagic)+1+sha256.Size || !bytes.HasPrefix(plain, []byte(snapshotMagic)) {
		return errors.New("not an index snapshot of this version")
	}
	body, tag := plain[:len(plain)-sha256.Size], plain[len(plain)-sha256.Size:]
	mac := hmac.New(sha256.New, v.keys.mac)
	mac.Write(body)
	if !hmac.Equal(mac.Sum(nil), tag) {
		return errors.New("authentication failed")
	}
	rest := body[len(snapshotMagic):]
	n, k := binary.Uvarint(rest)
	if k <= 0 || n > uint64(len(rest)-k) {
		return errors.New("bad length")
	}
	rest = rest[k:]
	var meta snapshotMeta
	if err := gob.NewDecoder(bytes.NewReader(rest[:n])).Decode(&meta); err != nil {
		return err
	}
	if meta.Vault != v.id {
		return errors.New("snapshot of another vault")
	}
	x, err := decodeIndex(rest[n:])
	if err != nil {
		return err
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
