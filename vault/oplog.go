package vault

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"time"

	"github.com/decred/dcrd/dcrec/secp256k1/v4"
	"github.com/decred/dcrd/dcrec/secp256k1/v4/ecdsa"
)

// The op log: log/<device>/<seq>, one age-encrypted file per entry, seq
// counting from 1 (zero-padded to 16 digits so names sort). An entry's
// plaintext is JSON {"body": BODY, "sig": HEX}: BODY names the vault, the
// device, the seq, the SHA-256 of the previous entry's plaintext (the hash
// chain) and the ops; sig is an ECDSA secp256k1 signature (DER, RFC 6979)
// by the device key over SHA-256(BODY bytes as stored). Replaying every
// device's log from seq 1 gives the vault's state: which object each
// (namespace, key) points at.

// Op namespaces.
const (
	nsDoc     = "doc"
	nsSession = "session"
	nsMemory  = "memory"
	nsSecret  = "secret"
)

// op is one change: put (ns, key) → ref, or del (ns, key).
type op struct {
	Op   string `json:"op"` // "put" or "del"
	NS   string `json:"ns"`
	Key  string `json:"key"`
	Ref  string `json:"ref,omitempty"`  // object name
	Hash string `json:"hash,omitempty"` // source content hash + model, for skip checks
}

type entryBody struct {
	Format int    `json:"format"`
	Vault  string `json:"vault"`
	Device string `json:"device"`
	Seq    uint64 `json:"seq"`
	Prev   string `json:"prev"` // hex SHA-256 of the previous entry's plaintext; "" at seq 1
	Time   int64  `json:"time"` // unix seconds
	Ops    []op   `json:"ops"`
}

type entryWire struct {
	Body json.RawMessage `json:"body"`
	Sig  string          `json:"sig"`
}

// head is how far a device's log has been applied.
type head struct {
	Seq  uint64 `json:"seq"`
	Hash string `json:"hash"`
}

// stateRef is what a (namespace, key) points at.
type stateRef struct {
	Ref  string `json:"ref"`
	Hash string `json:"hash,omitempty"`
}

func entryName(seq uint64) string { return fmt.Sprintf("%016d", seq) }

func encodeEntry(b *entryBody, key *secp256k1.PrivateKey) ([]byte, error) {
	raw, err := json.Marshal(b)
	if err != nil {
		return nil, err
	}
	h := sha256.Sum256(raw)
	sig := ecdsa.Sign(key, h[:])
	return json.Marshal(entryWire{Body: raw, Sig: hex.EncodeToString(sig.Serialize())})
}

// decodeEntry parses and verifies an entry's plaintext against the signer's
// public key. It checks the signature only; the caller checks the chain.
func decodeEntry(plain []byte, pub *secp256k1.PublicKey) (*entryBody, error) {
	var w entryWire
	if err := json.Unmarshal(plain, &w); err != nil {
		return nil, errors.New("not a log entry")
	}
	sigb, err := hex.DecodeString(w.Sig)
	if err != nil {
		return nil, errors.New("bad signature encoding")
	}
	sig, err := ecdsa.ParseDERSignature(sigb)
	if err != nil {
		return nil, errors.New("bad signature encoding")
	}
	h := sha256.Sum256(w.Body)
	if pub == nil || !sig.Verify(h[:], pub) {
		return nil, errors.New("bad signature")
	}
	var b entryBody
	if err := json.Unmarshal(w.Body, &b); err != nil {
		return nil, errors.New("bad entry body")
	}
	if b.Format != 1 || b.Seq == 0 {
		return nil, errors.New("bad entry body")
	}
	for _, o := range b.Ops {
		if (o.Op != "put" && o.Op != "del") || o.NS == "" || (o.Op == "put" && !validObjectName(o.Ref)) {
			return nil, errors.New("bad op")
		}
	}
	return &b, nil
}

func (v *Vault) logDir(device string) string { return filepath.Join(v.dir, "log", device) }

// logSeqs lists the entry numbers present for a device, sorted.
func logSeqs(dir string) ([]uint64, error) {
	ents, err := os.ReadDir(dir)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	var seqs []uint64
	for _, e := range ents {
		n, err := strconv.ParseUint(e.Name(), 10, 64)
		if err != nil || len(e.Name()) != 16 {
			continue // temp files and strangers
		}
		seqs = append(seqs, n)
	}
	sort.Slice(seqs, func(i, j int) bool { return seqs[i] < seqs[j] })
	return seqs, nil
}

// readEntry decrypts, verifies and chains one entry. prev is the head it
// must follow.
func (v *Vault) readEntry(device string, seq uint64, prev head) (*entryBody, head, error) {
	path := filepath.Join(v.logDir(device), entryName(seq))
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, head{}, fmt.Errorf("vault: log entry %s: %w", path, err)
	}
	b, h, err := v.openEntry(data, device, prev)
	if err != nil {
		return nil, head{}, fmt.Errorf("vault: log entry %s: %w: %v", path, ErrCorrupt, err)
	}
	if b.Seq != seq {
		return nil, head{}, fmt.Errorf("vault: log entry %s: %w: seq %d in file %d", path, ErrCorrupt, b.Seq, seq)
	}
	return b, h, nil
}

// openEntry is the log decoder: ciphertext → verified, chained body.
func (v *Vault) openEntry(data []byte, device string, prev head) (*entryBody, head, error) {
	plain, err := v.decrypt(data, 256<<20)
	if err != nil {
		return nil, head{}, err
	}
	if device != v.device {
		return nil, head{}, errors.New("entries of other devices are verified by sync")
	}
	b, err := decodeEntry(plain, v.devKey.PubKey())
	if err != nil {
		return nil, head{}, err
	}
	if b.Vault != v.id || b.Device != device {
		return nil, head{}, errors.New("entry of another vault or device")
	}
	if b.Seq != prev.Seq+1 || b.Prev != prev.Hash {
		return nil, head{}, errors.New("out of chain")
	}
	sum := sha256.Sum256(plain)
	return b, head{Seq: b.Seq, Hash: hex.EncodeToString(sum[:])}, nil
}

// appendEntry writes the next entry of this device's log. The caller holds
// the write lock and has caught up with the log on disk.
func (v *Vault) appendEntry(ops []op) error {
	if v.logBroken != nil {
		return fmt.Errorf("vault: refusing to write after a broken log: %w", v.logBroken)
	}
	cur := v.heads[v.device]
	b := &entryBody{Format: 1, Vault: v.id, Device: v.device, Seq: cur.Seq + 1, Prev: cur.Hash, Time: time.Now().Unix(), Ops: ops}
	plain, err := encodeEntry(b, v.devKey)
	if err != nil {
		return fmt.Errorf("vault: encode log entry: %w", err)
	}
	ct, err := v.encrypt(plain)
	if err != nil {
		return fmt.Errorf("vault: encrypt log entry: %w", err)
	}
	path := filepath.Join(v.logDir(v.device), entryName(b.Seq))
	if err := createFileAtomic(path, ct); err != nil {
		return fmt.Errorf("vault: write %s: %w", path, err)
	}
	sum := sha256.Sum256(plain)
	v.heads[v.device] = head{Seq: b.Seq, Hash: hex.EncodeToString(sum[:])}
	v.applyState(ops)
	return nil
}

// applyState applies ops to the (namespace, key) → ref map.
func (v *Vault) applyState(ops []op) {
	for _, o := range ops {
		m := v.state[o.NS]
		if m == nil {
			m = map[string]stateRef{}
			v.state[o.NS] = m
		}
		switch o.Op {
		case "put":
			m[o.Key] = stateRef{Ref: o.Ref, Hash: o.Hash}
		case "del":
			delete(m, o.Key)
		}
	}
}

// catchUp applies log entries written since this Vault last looked (by
// another process, or all of them when there was no snapshot). It returns
// the doc keys whose refs changed. A bad entry stops that device's replay
// and is recorded as a problem; everything before it stays.
func (v *Vault) catchUp() (map[string]bool, error) {
	changed := map[string]bool{}
	seqs, err := logSeqs(v.logDir(v.device))
	if err != nil {
		return nil, fmt.Errorf("vault: read log: %w", err)
	}
	cur := v.heads[v.device]
	for _, s := range seqs {
		if s <= cur.Seq {
			continue
		}
		b, h, err := v.readEntry(v.device, s, cur)
		if err != nil {
			v.logBroken = err
			v.problems = append(v.problems, err)
			break
		}
		v.applyState(b.Ops)
		for _, o := range b.Ops {
			if o.NS == nsDoc {
				changed[o.Key] = true
			}
		}
		cur = h
		v.heads[v.device] = h
	}
	return changed, nil
}
