package vault

import (
	"bytes"
	"encoding/gob"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"time"

	"github.com/nook-ai/nook/internal/atomicfile"
	"github.com/nook-ai/nook/vault/internal/format"
)

// The index snapshot, cache/index.age: this device's cache of the merged
// state and the search index (format.WriteSnapshot frames it; age seals it
// to the device's own recipient; the MAC key comes from the device's
// identity). Unlock reads it instead of replaying every log and decrypting
// every object, then applies the entries written after it. A snapshot that
// is missing, stale or fails any check is ignored and everything is rebuilt
// from the logs and the objects.

type snapshotMeta struct {
	Vault  string
	Device string
	Heads  map[string]head
	State  *stateWire
	// Missing: objects the state pointed at that were not on disk.
	Missing map[string]nsKey
}

// snapshotDelay is how long the snapshot may stay behind after sync stored
// entries or objects (saveSnapshotSoon). Rewriting it is rewriting all of
// it (tens of MB on a large vault: 0.2–0.4 s for 10k notes), which
// cost more than the batch itself when sync did it after every Import and
// every transfer: a sync of one change rewrote the whole index twice.
const snapshotDelay = 3 * time.Second

func (v *Vault) snapshotPath() string { return filepath.Join(v.dir, "cache", "index.age") }

func (v *Vault) saveSnapshotLocked() error {
	if !v.dirty || v.opts.readOnly {
		return nil
	}
	meta := snapshotMeta{Vault: v.id, Device: v.device, Heads: v.heads, State: v.st.wire(), Missing: v.missing}
	var mb bytes.Buffer
	if err := gob.NewEncoder(&mb).Encode(&meta); err != nil {
		return fmt.Errorf("vault: encode index: %w", err)
	}
	ib := encodeIndex(v.idx)
	// Streamed: framing, encryption and the temp file in one pass, so the
	// index (tens of MB on a large vault) is not copied twice in memory.
	err := atomicfile.Write(v.snapshotPath(), 0o700, func(w io.Writer) error {
		sw, err := format.SealTo(w, v.devID.Recipient())
		if err != nil {
			return fmt.Errorf("encrypt index: %w", err)
		}
		if err := format.WriteSnapshot(sw, v.devKeys.MAC, mb.Bytes(), ib); err != nil {
			return err
		}
		return sw.Close()
	})
	if err != nil {
		return fmt.Errorf("vault: write %s: %w", v.snapshotPath(), err)
	}
	v.dirty, v.shed = false, false
	return nil
}

// saveSnapshotSoon saves the snapshot within snapshotDelay (or at Close,
// whichever is first) instead of at once: it is a cache of what the logs
// and objects on disk hold, and Open replays the entries written after it,
// so a snapshot that is behind loses nothing. It saves at once when the
// index dropped a document the state removed (v.shed): a forgotten
// document's text must not stay in the snapshot on disk. The caller holds
// v.mu.
func (v *Vault) saveSnapshotSoon() error {
	if !v.dirty || v.opts.readOnly {
		return nil
	}
	if v.shed {
		return v.saveSnapshotLocked()
	}
	if v.saveTimer == nil {
		v.saveTimer = time.AfterFunc(v.snapDelay, v.saveDue)
	}
	return nil
}

// saveDue is saveSnapshotSoon's timer: a failed save is a problem the
// vault reports (status, check), and Close tries again.
func (v *Vault) saveDue() {
	v.mu.Lock()
	defer v.mu.Unlock()
	v.saveTimer = nil
	if v.closed {
		return
	}
	if err := v.saveSnapshotLocked(); err != nil {
		v.addProblemLocked(err)
	}
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
		v.problems = append(v.problems, fmt.Errorf("vault: index %s: %w: %v (rebuilt from the log)", v.snapshotPath(), ErrCorrupt, err))
		v.heads = map[string]head{}
		v.st = newState()
		v.idx = newIndex()
		v.dirty = true
	}
}

func (v *Vault) decodeSnapshot(data []byte) error {
	meta, x, err := v.readSnapshot(data)
	if err != nil {
		return err
	}
	v.idx = x
	v.heads = meta.Heads
	if v.heads == nil {
		v.heads = map[string]head{}
	}
	v.st = stateFromWire(meta.State)
	for ref, k := range meta.Missing {
		if v.st.live(ref) {
			v.missing[ref] = k // catchUp looks again
		}
	}
	return nil
}

// readSnapshot decrypts, authenticates and decodes a snapshot.
func (v *Vault) readSnapshot(data []byte) (*snapshotMeta, *index, error) {
	plain, err := format.Open(data, 16<<30, v.devID)
	if err != nil {
		return nil, nil, err
	}
	mb, ib, err := format.ReadSnapshot(plain, v.devKeys.MAC)
	if err != nil {
		return nil, nil, err
	}
	var meta snapshotMeta
	if err := gob.NewDecoder(bytes.NewReader(mb)).Decode(&meta); err != nil {
		return nil, nil, err
	}
	if meta.Vault != v.id || meta.Device != v.device || meta.State == nil {
		return nil, nil, errors.New("snapshot of another vault or device")
	}
	x, err := decodeIndex(ib)
	if err != nil {
		return nil, nil, err
	}
	return &meta, x, nil
}

// rebuildIndex drops the snapshot state and rebuilds everything from the
// logs and the objects. The caller holds v.mu.
func (v *Vault) rebuildIndex() error {
	v.heads = map[string]head{}
	v.st = newState()
	v.idx = newIndex()
	v.missing = map[string]nsKey{}
	v.tail = map[string]uint64{}
	v.dirty = true
	return v.catchUp(true)
}
