package app

import (
	"context"
	"errors"
	"os"
	"path/filepath"

	"github.com/nook-ai/nook/vault"
)

// CheckReport is what CheckVault found.
type CheckReport struct {
	vault.CheckReport
	// Witness is what the ledger witnessed (ledger.witness in the config;
	// nil otherwise), and RolledBack why the vault is behind it.
	Witness    *Witness `json:"witness,omitempty"`
	RolledBack string   `json:"rolled_back,omitempty"`
}

// OK reports whether nothing is damaged and no rollback was seen.
func (r *CheckReport) OK() bool { return r.CheckReport.OK() && r.RolledBack == "" }

// CheckVault verifies every file of the vault without changing anything:
// it opens a read-only handle of its own (no migration, no key file copy
// restored, no temp file removed, no snapshot saved), whatever the app has
// unlocked. With ledger.witness it then compares the vault with the head
// the ledger anchored (which opens the ledger, and anchors a newer head).
func (a *App) CheckVault(ctx context.Context, passphrase []byte) (CheckReport, error) {
	var rep CheckReport
	if err := a.RequireVault(); err != nil {
		return rep, err
	}
	v, err := vault.Open(a.cfg.VaultDir(), passphrase, vault.ReadOnly())
	if err != nil {
		return rep, err
	}
	rep.CheckReport, err = v.Check()
	v.Close()
	if err != nil || !a.cfg.Ledger.Witness {
		return rep, err
	}
	if err := a.Unlock(ctx, passphrase, WithoutEmbedder()); err != nil {
		return rep, err
	}
	w, err := a.CheckWitness(ctx)
	switch {
	case errors.Is(err, vault.ErrRolledBack):
		rep.RolledBack = err.Error()
	case err != nil:
		return rep, err
	}
	rep.Witness = &w
	return rep, nil
}

// RepairReport is what RepairVault did.
type RepairReport struct {
	vault.RepairReport
	// Header: VAULT was missing and was written again from the key file.
	Header bool `json:"header,omitempty"`
}

// RepairVault repairs the vault (vault.Repair): it first writes a missing
// VAULT header again from this device's key file, then unlocks the vault
// (for records only) as the app's and repairs it.
func (a *App) RepairVault(ctx context.Context, passphrase []byte) (RepairReport, error) {
	var rep RepairReport
	dir := a.cfg.VaultDir()
	if _, err := os.Stat(filepath.Join(dir, "VAULT")); errors.Is(err, os.ErrNotExist) {
		if err := vault.RestoreHeader(dir, passphrase); err != nil {
			return rep, err
		}
		rep.Header = true
	}
	if err := a.Unlock(ctx, passphrase, WithoutEmbedder()); err != nil {
		return rep, err
	}
	v, release, err := a.Vault()
	if err != nil {
		return rep, err
	}
	defer release()
	rep.RepairReport, err = v.Repair()
	return rep, err
}
