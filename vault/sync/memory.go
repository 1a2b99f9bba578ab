package sync

import (
	"encoding/json"
	"errors"
	"fmt"

	"github.com/nook-ai/nook/vault"
)

// Rollback and fork detection. A device remembers, per peer, the last
// head it verified for every device from that peer (vault.PutLocal). A
// peer then offering an older head for a device, or no head for a device
// it offered before (a truncated log), is refused (ErrRollback); a head
// at a sequence this device holds whose hash differs from the entry held
// (EntryHash), or a different hash at the sequence remembered, is a fork
// (ErrFork: that device's key may be compromised).

const localSeen = "sync-seen"

// seen: peer device → device → head.
type seen map[string]map[string]vault.Head

func loadSeen(v *vault.Vault) (seen, error) {
	s := seen{}
	b, err := v.Local(localSeen)
	if errors.Is(err, vault.ErrNotFound) {
		return s, nil
	}
	if err != nil {
		return nil, fmt.Errorf("sync: %w", err)
	}
	if err := json.Unmarshal(b, &s); err != nil {
		return nil, fmt.Errorf("sync: remembered heads: %w", err)
	}
	return s, nil
}

func saveSeen(v *vault.Vault, s seen) error {
	b, err := json.Marshal(s)
	if err != nil {
		return err
	}
	return v.PutLocal(localSeen, b)
}

// checkHeads checks a peer's heads against what it offered before and
// against the entries held here.
func checkHeads(v *vault.Vault, before map[string]vault.Head, peerDev string, theirs []DeviceHead) error {
	offered := map[string]bool{}
	mine := v.Heads()
	for _, h := range theirs {
		offered[h.Device] = true
		prev, had := before[h.Device]
		switch {
		case had && h.Seq < prev.Seq:
			what := "device " + h.Device
			if h.Device == peerDev {
				what = "its own log"
			}
			return fmt.Errorf("%w: peer %s offers %s up to entry %d, it offered up to %d before (its vault folder was restored from an older copy, or it truncated the log)",
				ErrRollback, peerDev, what, h.Seq, prev.Seq)
		case had && h.Seq == prev.Seq && h.Hash != prev.Hash:
			return fmt.Errorf("%w: peer %s offers another entry %d of device %s than it did before", ErrFork, peerDev, h.Seq, h.Device)
		}
		if h.Seq == 0 {
			continue
		}
		if h.Seq <= mine[h.Device].Seq {
			held, err := v.EntryHash(h.Device, h.Seq)
			if err != nil {
				return fmt.Errorf("sync: check head of %s: %w", h.Device, err)
			}
			if held != h.Hash {
				return fmt.Errorf("%w: peer %s holds another entry %d of device %s than this device does", ErrFork, peerDev, h.Seq, h.Device)
			}
		}
	}
	for d, prev := range before {
		if !offered[d] && prev.Seq > 0 {
			return fmt.Errorf("%w: peer %s no longer offers device %s's log (it offered up to entry %d before)", ErrRollback, peerDev, d, prev.Seq)
		}
	}
	return nil
}
