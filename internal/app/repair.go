package app

import (
	"context"
	"errors"
	"os"
	"path/filepath"

	"github.com/nook-ai/nook/vault"
)

// CheckVault verifies every file of the vault without changing anything:
// it opens a read-only handle of its own (no migration, no key file copy
// restored, no temp file removed, no snapshot saved), whatever the app has
// unlocked.
func (a *App) CheckVault(ctx context.Context, passphrase []byte) (vault.CheckReport, error) {
	if err := a.RequireVault(); err != nil {
		return vault.CheckReport{}, err
	}
	v, err := vault.Open(a.cfg.VaultDir(), passphrase, vault.ReadOnly())
	if err != nil {
		return vault.CheckReport{}, err
	}
	defer v.Close()
	return v.Check()
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
