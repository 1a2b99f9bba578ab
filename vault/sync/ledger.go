package sync

import (
	"context"
	"crypto/ecdsa"
	"errors"
	"fmt"
	"time"

	"github.com/ethereum/go-ethereum/common"

	"github.com/nook-ai/nook/ledgerclient"
	"github.com/nook-ai/nook/vault"
)

// What sync reads and writes on the ledger. A device is a nook/device
// delegate of the identity (ledgerclient.DeviceType). Besides the standard
// X25519 attribute (a raw key, not tied to a device), each device's age
// recipient is published bound to its address (AttrDeviceRecipient), so
// that a remaining device can wrap a new key epoch to every other
// remaining device after a removal.

// AttrDeviceRecipient is the attribute binding a device to its X25519
// recipient: value = the device's 20-byte address followed by the
// recipient's text ("age1...").
var AttrDeviceRecipient = func() (b [32]byte) { copy(b[:], "nook/device/age"); return }()

// Keys is the vault as the ledger client's KeyStore (the identity key and
// the embedded chain's account are vault secrets): a missing secret is
// ledgerclient.ErrNoSecret.
func Keys(v *vault.Vault) ledgerclient.KeyStore { return vaultKeys{v} }

type vaultKeys struct{ v *vault.Vault }

func (k vaultKeys) Secret(name string) ([]byte, error) {
	b, err := k.v.Secret(name)
	if errors.Is(err, vault.ErrNotFound) {
		return nil, fmt.Errorf("%w: %w", ledgerclient.ErrNoSecret, err)
	}
	return b, err
}

func (k vaultKeys) PutSecret(name string, data []byte) error { return k.v.PutSecret(name, data) }

// LedgerDevices is a DeviceSource on a ledger client.
type LedgerDevices struct {
	Client   *ledgerclient.Client
	Identity common.Address
}

// Devices lists the identity's devices (active or not) with their expiry,
// replayed from the registry's events, and the head block's time.
func (l LedgerDevices) Devices(ctx context.Context) (map[string]time.Time, time.Time, error) {
	st, err := l.Client.State(ctx, l.Identity)
	if err != nil {
		return nil, time.Time{}, err
	}
	out := map[string]time.Time{}
	for _, d := range st.Devices() {
		out[d.Address.Hex()] = d.Expires
	}
	return out, st.Time, nil
}

// RegisterDevice makes device a nook/device delegate of identity and
// publishes its X25519 recipient (both the standard attribute and the
// binding). owner signs.
func RegisterDevice(ctx context.Context, c *ledgerclient.Client, owner *ecdsa.PrivateKey, identity common.Address, device, recipient string) error {
	x, err := ledgerclient.X25519FromAgeRecipient(recipient)
	if err != nil {
		return fmt.Errorf("sync: register %s: %w", device, err)
	}
	addr := common.HexToAddress(device)
	if err := c.AddDevice(ctx, owner, identity, addr, x, ledgerclient.Forever); err != nil {
		return err
	}
	if _, err := c.SetAttribute(ctx, owner, identity, AttrDeviceRecipient, append(addr.Bytes(), recipient...), ledgerclient.Forever); err != nil {
		return fmt.Errorf("sync: register %s: publish its recipient: %w", device, err)
	}
	return nil
}

// EnsureRegistered registers device unless the ledger already lists it
// with its recipient (the first device registered itself with `nook id
// create`, before recipients were bound to devices).
func EnsureRegistered(ctx context.Context, c *ledgerclient.Client, owner *ecdsa.PrivateKey, identity common.Address, device, recipient string) error {
	recs, err := DeviceRecipients(ctx, c, identity)
	if err != nil {
		return err
	}
	if recs[device] == recipient {
		return nil
	}
	return RegisterDevice(ctx, c, owner, identity, device, recipient)
}

// DeviceRecipients maps every active device to its published recipient.
func DeviceRecipients(ctx context.Context, c *ledgerclient.Client, identity common.Address) (map[string]string, error) {
	st, err := c.State(ctx, identity)
	if err != nil {
		return nil, err
	}
	now := time.Now()
	if st.Time.After(now) {
		now = st.Time
	}
	active := map[string]bool{}
	for _, d := range st.Devices() {
		if d.Active(now) {
			active[d.Address.Hex()] = true
		}
	}
	out := map[string]string{}
	for _, a := range st.Attributes {
		if a.Name != AttrDeviceRecipient || !a.ValidTo.After(now) || len(a.Value) <= 20 {
			continue
		}
		dev := common.BytesToAddress(a.Value[:20]).Hex()
		if active[dev] {
			out[dev] = string(a.Value[20:])
		}
	}
	return out, nil
}

// RevokeDevice ends device's delegate and its published recipients.
func RevokeDevice(ctx context.Context, c *ledgerclient.Client, owner *ecdsa.PrivateKey, identity common.Address, device string) error {
	addr := common.HexToAddress(device)
	recs, err := DeviceRecipients(ctx, c, identity)
	if err != nil {
		return err
	}
	if _, err := c.RevokeDelegate(ctx, owner, identity, ledgerclient.DeviceType, addr); err != nil {
		return fmt.Errorf("sync: remove %s: %w", device, err)
	}
	if rec, ok := recs[device]; ok {
		if _, err := c.RevokeAttribute(ctx, owner, identity, AttrDeviceRecipient, append(addr.Bytes(), rec...)); err != nil {
			return fmt.Errorf("sync: remove %s: withdraw its recipient: %w", device, err)
		}
		if x, err := ledgerclient.X25519FromAgeRecipient(rec); err == nil {
			if _, err := c.RevokeAttribute(ctx, owner, identity, ledgerclient.AttrX25519, x); err != nil {
				return fmt.Errorf("sync: remove %s: withdraw its X25519 key: %w", device, err)
			}
		}
	}
	return nil
}

// Removal is what RemoveDevice did.
type Removal struct {
	Device string `json:"device"`
	Epoch  int    `json:"epoch"` // the new key epoch
	// WrappedFor are the devices the new epoch was wrapped to (this one
	// included); Unreachable are active devices with no published
	// recipient, which cannot read what is written from now on.
	WrappedFor  []string `json:"wrapped_for"`
	Unreachable []string `json:"no_recipient,omitempty"`
}

// RemoveDevice removes device: it is revoked on the ledger, refused by n
// at once (n may be nil), and the vault's key is rotated to the devices
// that remain, so that the removed device cannot read what is written
// after this. What it already held stays readable to it.
func RemoveDevice(ctx context.Context, v *vault.Vault, c *ledgerclient.Client, owner *ecdsa.PrivateKey, identity common.Address, device string, n *Node) (Removal, error) {
	rem := Removal{Device: device}
	if device == v.Device() {
		return rem, errors.New("sync: a device cannot remove itself: run the removal on another device")
	}
	if err := RevokeDevice(ctx, c, owner, identity, device); err != nil {
		return rem, err
	}
	if n != nil {
		n.RemoveDevice(device)
	}
	recs, err := DeviceRecipients(ctx, c, identity)
	if err != nil {
		return rem, err
	}
	st, err := c.State(ctx, identity)
	if err != nil {
		return rem, err
	}
	members := map[string]string{}
	now := time.Now()
	for _, d := range st.Devices() {
		a := d.Address.Hex()
		if !d.Active(now) || a == device || a == v.Device() {
			continue
		}
		if r, ok := recs[a]; ok {
			members[a] = r
			rem.WrappedFor = append(rem.WrappedFor, a)
		} else {
			rem.Unreachable = append(rem.Unreachable, a)
		}
	}
	rem.WrappedFor = append(rem.WrappedFor, v.Device())
	rem.Epoch, err = v.RotateKey(members)
	if n != nil {
		if rerr := n.RefreshDevices(ctx); rerr != nil {
			n.log.Warn("sync: device list after a removal", "err", rerr)
		}
	}
	return rem, err
}
