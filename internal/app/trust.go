package app

import (
	"context"
	"encoding/hex"
	"errors"
	"fmt"
	"time"

	"github.com/nook-ai/nook/internal/hint"
	"github.com/nook-ai/nook/ledgerclient"
	"github.com/nook-ai/nook/vault"
)

// Trust in the ledger (ledgerclient/pin.go) and the rollback witness
// (ledgerclient/witness.go), over the app's vault.

// pinHint is what to do when the chain is not the pinned one.
const pinHint = "if you moved to this chain on purpose, run `nook ledger trust` on a terminal to confirm it; otherwise put ledger.rpc (and ledger.registry) in the config back to the chain you used"

// trustChain checks the chain against the vault's pin (pinning it at first
// use). A chain that differs is refused: nothing is asked of it.
func trustChain(ctx context.Context, ch *Chain, keys ledgerclient.KeyStore) error {
	_, _, err := ch.Client.Trust(ctx, keys, ch.Where)
	if errors.Is(err, ledgerclient.ErrPinMismatch) {
		return hint.New(err, pinHint)
	}
	if err != nil {
		return chainHint(err, ch.Where)
	}
	return nil
}

// TrustLedger makes the configured chain the one the vault trusts, after
// confirm (which must ask the person on a terminal, never a pipe or the
// environment) has seen the pinned chain (nil at first use) and the new
// one. It returns the new pin; unchanged reports that it was already
// trusted.
func (a *App) TrustLedger(ctx context.Context, confirm func(pinned *ledgerclient.Pin, got ledgerclient.Pin) (bool, error)) (p ledgerclient.Pin, unchanged bool, err error) {
	v, vrel, err := a.Vault()
	if err != nil {
		return p, false, err
	}
	defer vrel()
	keys := vaultKeys{v}
	ch, err := a.o.chain(ctx, keys)
	if err != nil {
		return p, false, err
	}
	defer ch.Close()
	got, err := ch.Client.ReadPin(ctx, ch.Where)
	if err != nil {
		return p, false, chainHint(err, ch.Where)
	}
	pinned, ok, err := ledgerclient.LoadPin(keys)
	if err != nil {
		return p, false, err
	}
	if ok && pinned.ChainID == got.ChainID && pinned.Genesis == got.Genesis && pinned.Registry == got.Registry && pinned.Code == got.Code {
		return pinned, true, nil
	}
	var was *ledgerclient.Pin
	if ok {
		was = &pinned
	}
	yes, err := confirm(was, got)
	if err != nil {
		return p, false, err
	}
	if !yes {
		return p, false, hint.New(errors.New("ledger: the new chain was not confirmed: nothing changed"), "run `nook ledger trust` again to confirm it")
	}
	p, err = ch.Client.Repin(ctx, keys, ch.Where)
	a.ledger.reset() // the next use opens over the new pin
	return p, false, err
}

// Witness is what the ledger witnessed of this device's vault log.
type Witness struct {
	// Anchored is the head the ledger held before (Seq 0: none yet).
	Anchored ledgerclient.Anchor
	// Head is this device's head now; Renewed says whether it was anchored
	// now (it was ahead of the ledger's).
	Head    vault.Head
	Renewed bool
}

// witness checks this device's vault head against the head the ledger
// anchored for it (vault.ErrRolledBack when the vault is behind or holds
// another entry there), then anchors the head when it is ahead. With no
// identity yet there is nothing to anchor to: it does nothing.
func (l *Ledger) witness(ctx context.Context, anchor bool) (w Witness, err error) {
	k, err := ledgerclient.LoadIdentity(l.keys)
	if errors.Is(err, ledgerclient.ErrNoIdentity) || !l.hasDev {
		return w, nil
	}
	if err != nil {
		return w, err
	}
	st, err := l.Client.State(ctx, ledgerclient.Address(k))
	if err != nil {
		return w, l.Explain(err)
	}
	w.Head = l.v.OwnHead()
	if a, ok := st.Anchors()[l.device]; ok {
		w.Anchored = a
		when := fmt.Sprintf("the ledger (%s, block %d)", l.Where, a.Block)
		if err := l.v.CheckWitness(a.Seq, hex.EncodeToString(a.Hash.Bytes()), when); err != nil {
			return w, err
		}
	}
	if !anchor || w.Head.Seq <= w.Anchored.Seq {
		return w, nil
	}
	h, err := ledgerclient.ParseEntryHash(w.Head.Hash)
	if err != nil {
		return w, err
	}
	if err := l.Client.AnchorHead(ctx, k, ledgerclient.Address(k), ledgerclient.Anchor{Device: l.device, Seq: w.Head.Seq, Hash: h}); err != nil {
		return w, l.Explain(err)
	}
	w.Renewed = true
	return w, nil
}

// CheckWitness compares the vault with what the ledger witnessed, and
// anchors this device's head when it is ahead (ledger.witness in the
// config). It opens the ledger.
func (a *App) CheckWitness(ctx context.Context) (Witness, error) {
	l, rel, err := a.Ledger(ctx, true)
	if err != nil {
		return Witness{}, err
	}
	defer rel()
	ctx, cancel := context.WithTimeout(ctx, time.Minute)
	defer cancel()
	return l.witness(ctx, true)
}
