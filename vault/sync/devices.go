package sync

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	stdsync "sync"
	"time"

	"github.com/nook-ai/nook/vault"
)

// The device list. The gate never asks the chain: it reads this cache,
// which a background loop refreshes every Refresh from the ledger. When
// the chain cannot be reached the cache keeps answering until it is
// MaxStale old, then every device is refused until the chain answers
// again. A device removed here (Revoke) is refused at once, before the
// chain is read again.

// DeviceSource lists the identity's nook/device delegates: address →
// valid until, and the chain's clock (the head block's time).
type DeviceSource interface {
	Devices(ctx context.Context) (map[string]time.Time, time.Time, error)
}

// Defaults of the device list.
const (
	// DefaultRefresh is how often the device list is read from the chain.
	DefaultRefresh = 30 * time.Second
	// DefaultMaxStale is how old the device list may be, when the chain
	// cannot be reached, before every peer is refused.
	DefaultMaxStale = time.Hour
)

// deviceList is the cache's content (kept with vault.PutLocal, so a
// restarted device gates from it until the chain answers).
type deviceList struct {
	Devices   map[string]time.Time `json:"devices"` // address → valid until
	ChainTime time.Time            `json:"chain_time"`
	Fetched   time.Time            `json:"fetched"` // local clock
}

const localDevices = "sync-devices"

type deviceCache struct {
	v        *vault.Vault
	src      func() DeviceSource // nil until the chain is reachable
	maxStale time.Duration
	now      func() time.Time
	log      *slog.Logger

	mu      stdsync.Mutex
	list    deviceList
	lastErr error
	removed map[string]bool // revoked from this device
	changed func()          // called after a refresh or a removal
}

func newDeviceCache(v *vault.Vault, maxStale time.Duration, now func() time.Time, log *slog.Logger) *deviceCache {
	c := &deviceCache{v: v, maxStale: maxStale, now: now, log: log, removed: map[string]bool{}}
	if b, err := v.Local(localDevices); err == nil {
		var l deviceList
		if json.Unmarshal(b, &l) == nil && l.Devices != nil {
			c.list = l
		}
	}
	return c
}

// allowed says whether device may connect, and why not.
func (c *deviceCache) allowed(device string) (bool, string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	now := c.now()
	switch {
	case c.list.Devices == nil:
		return false, "the device list was never read from the chain"
	case now.Sub(c.list.Fetched) > c.maxStale:
		why := fmt.Sprintf("the device list is %s old (at most %s) and the chain cannot be reached", now.Sub(c.list.Fetched).Round(time.Second), c.maxStale)
		if c.lastErr != nil {
			why += ": " + c.lastErr.Error()
		}
		return false, why
	case c.removed[device]:
		return false, "device removed"
	}
	until, ok := c.list.Devices[device]
	if !ok {
		return false, "not a device of this identity"
	}
	// The chain's clock moved on since the list was read.
	at := now
	if ct := c.list.ChainTime.Add(now.Sub(c.list.Fetched)); ct.After(at) {
		at = ct
	}
	if !until.After(at) {
		return false, "device revoked or expired at " + until.UTC().Format(time.RFC3339)
	}
	return true, ""
}

// stale reports whether the list is missing or too old to gate with.
func (c *deviceCache) stale() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.list.Devices == nil || c.now().Sub(c.list.Fetched) > c.maxStale
}

// refresh reads the list from the chain.
func (c *deviceCache) refresh(ctx context.Context) error {
	var src DeviceSource
	if c.src != nil {
		src = c.src()
	}
	if src == nil {
		err := fmt.Errorf("sync: device list: the chain is not reachable yet")
		c.mu.Lock()
		c.lastErr = err
		c.mu.Unlock()
		return err
	}
	devs, chainTime, err := src.Devices(ctx)
	if err != nil {
		c.mu.Lock()
		c.lastErr = err
		c.mu.Unlock()
		return fmt.Errorf("sync: device list: %w", err)
	}
	l := deviceList{Devices: devs, ChainTime: chainTime, Fetched: c.now()}
	c.mu.Lock()
	c.list, c.lastErr = l, nil
	changed := c.changed
	c.mu.Unlock()
	if b, err := json.Marshal(l); err == nil {
		if err := c.v.PutLocal(localDevices, b); err != nil {
			c.log.Warn("sync: keep the device list", "err", err)
		}
	}
	if changed != nil {
		changed()
	}
	return nil
}

// remove refuses device from now on (it was revoked from this device);
// the chain says the same at the next refresh.
func (c *deviceCache) remove(device string) {
	c.mu.Lock()
	c.removed[device] = true
	changed := c.changed
	c.mu.Unlock()
	if changed != nil {
		changed()
	}
}

// snapshot returns the devices valid now.
func (c *deviceCache) valid() []string {
	c.mu.Lock()
	devs := make([]string, 0, len(c.list.Devices))
	for d := range c.list.Devices {
		devs = append(devs, d)
	}
	c.mu.Unlock()
	out := devs[:0]
	for _, d := range devs {
		if ok, _ := c.allowed(d); ok {
			out = append(out, d)
		}
	}
	return out
}

// age is how old the list is (0 when it was never read).
func (c *deviceCache) info() (fetched time.Time, lastErr error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.list.Fetched, c.lastErr
}
