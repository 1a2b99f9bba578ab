package vault

import (
	"fmt"

	"github.com/nook-ai/nook/internal/hint"
)

// Rollback. Every file of an older copy of the vault folder verifies, so
// the vault cannot tell by itself that it was restored from one: only a
// witness that saw a later head of this device's log can. Two witnesses
// exist: another device (Import reports RolledBack when this device's own
// entries come back beyond its head) and the ledger, where the device
// anchors its head (ledgerclient.Anchor). Without either, a rollback goes
// unnoticed (docs/design.md).

// OwnHead is this device's log head: its last entry's sequence number and
// hash (what a witness records).
func (v *Vault) OwnHead() Head {
	v.mu.Lock()
	defer v.mu.Unlock()
	h := v.heads[v.device]
	return Head{Seq: h.Seq, Hash: h.Hash}
}

// CheckWitness compares this device's log with a head a witness saw (seq
// and the hex hash of that entry): a log that ends before it, or holds
// another entry there, was rolled back (ErrRolledBack). An entry that is
// a hole here cannot be compared and passes.
func (v *Vault) CheckWitness(seq uint64, hash, witness string) error {
	v.mu.Lock()
	defer v.mu.Unlock()
	if err := v.check(); err != nil {
		return err
	}
	h := v.heads[v.device]
	fix := "if you restored this folder from a backup, the changes made after that backup are in the other copies of the vault only: sync with your other devices (`nook sync now`); if not, someone replaced this folder"
	if seq > h.Seq {
		return hint.New(fmt.Errorf("vault: %s: %w: this device's log ends at entry %d, but %s saw entry %d", v.dir, ErrRolledBack, h.Seq, witness, seq), fix)
	}
	if seq == 0 || v.st.hole(v.device, seq) {
		return nil
	}
	mine := h.Hash
	if seq < h.Seq {
		var err error
		if mine, err = v.localEntryHash(v.device, seq); err != nil {
			return err
		}
	}
	if mine != hash {
		return hint.New(fmt.Errorf("vault: %s: %w: entry %d of this device's log is not the one %s saw", v.dir, ErrRolledBack, seq, witness), fix)
	}
	return nil
}
