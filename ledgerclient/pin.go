package ledgerclient

import (
	"context"
	"encoding/json"
	"fmt"
	"math/big"
	"strings"
	"time"

	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/crypto"
)

// Trust pinning. Grants are only as good as the chain that answers, and
// ledger.rpc is a line in a config file. So the chain a vault first used is
// pinned: its chain id, its genesis block's hash, the registry's address
// and the hash of the registry's code, kept in the vault (SecretPin: a
// secret, so sealed, authenticated by the vault's signed log, and synced
// to the person's other devices). A chain that disagrees is refused
// (ErrPinMismatch) until the person confirms the new one (Repin, which
// nook asks for on a terminal only); every Check answer read from the
// chain is checked against the pin (the registry's code at the block the
// answer comes from).
//
// What a pin cannot do: a server that copies the pinned chain's identity
// (chain id, genesis hash, code) and then lies about state is not caught
// without verifying state proofs against a trusted block, which needs a
// light client of the chain's consensus.

// SecretPin is the KeyStore name of the vault's pin (JSON Pin).
const SecretPin = "ledger/pin"

// Pin is the chain a vault trusts.
type Pin struct {
	ChainID  string `json:"chain_id"` // decimal
	Genesis  string `json:"genesis"`  // hash of block 0
	Registry string `json:"registry"` // EIP-55 address
	Code     string `json:"code"`     // keccak256 of the registry's runtime code
	// Where it was pinned from: the RPC URL, or "embedded" (informative:
	// a new URL for the same chain is fine).
	Where string    `json:"where"`
	Since time.Time `json:"since"`
}

// PinError says how a chain differs from the pinned one.
type PinError struct {
	Pinned, Got Pin
	Fields      []string // which of chain id, genesis, registry, code differ
}

func (e *PinError) Error() string {
	var diff []string
	for _, f := range e.Fields {
		switch f {
		case "chain id":
			diff = append(diff, fmt.Sprintf("chain id %s, pinned %s", e.Got.ChainID, e.Pinned.ChainID))
		case "genesis":
			diff = append(diff, fmt.Sprintf("genesis %s, pinned %s", short(e.Got.Genesis), short(e.Pinned.Genesis)))
		case "registry":
			diff = append(diff, fmt.Sprintf("registry %s, pinned %s", e.Got.Registry, e.Pinned.Registry))
		case "code":
			diff = append(diff, fmt.Sprintf("registry code %s, pinned %s", short(e.Got.Code), short(e.Pinned.Code)))
		}
	}
	return fmt.Sprintf("ledger: %s: %v (pinned from %s on %s): %s", e.Got.Where, ErrPinMismatch, e.Pinned.Where,
		e.Pinned.Since.UTC().Format("2006-01-02"), strings.Join(diff, "; "))
}

func (e *PinError) Unwrap() error { return ErrPinMismatch }

func short(h string) string {
	if len(h) > 12 {
		return h[:10] + "…"
	}
	return h
}

// ReadPin reads what identifies the chain the client talks to. where
// names it for messages (the RPC URL, or "embedded").
func (c *Client) ReadPin(ctx context.Context, where string) (Pin, error) {
	if _, err := c.registry(); err != nil {
		return Pin{}, err
	}
	g, err := c.b.HeaderByNumber(ctx, big.NewInt(0))
	if err != nil {
		return Pin{}, wrapRPC("ledger: genesis block", err)
	}
	code, err := c.b.CodeAt(ctx, c.regAddr, nil)
	if err != nil {
		return Pin{}, wrapRPC("ledger: registry code", err)
	}
	if len(code) == 0 {
		return Pin{}, fmt.Errorf("ledger: %s: %w: no code at %s", where, ErrNoRegistry, c.regAddr.Hex())
	}
	return Pin{ChainID: c.chainID.String(), Genesis: g.Hash().Hex(), Registry: c.regAddr.Hex(),
		Code: crypto.Keccak256Hash(code).Hex(), Where: where, Since: c.now().UTC()}, nil
}

// compare lists the fields in which got differs from p.
func (p Pin) compare(got Pin) []string {
	var out []string
	if p.ChainID != got.ChainID {
		out = append(out, "chain id")
	}
	if !strings.EqualFold(p.Genesis, got.Genesis) {
		out = append(out, "genesis")
	}
	if !strings.EqualFold(p.Registry, got.Registry) {
		out = append(out, "registry")
	}
	if !strings.EqualFold(p.Code, got.Code) {
		out = append(out, "code")
	}
	return out
}

// LoadPin returns the vault's pin; ok is false when there is none yet.
func LoadPin(ks KeyStore) (Pin, bool, error) {
	b, err := ks.Secret(SecretPin)
	if IsNoSecret(err) {
		return Pin{}, false, nil
	}
	if err != nil {
		return Pin{}, false, fmt.Errorf("ledger: read pin: %w", err)
	}
	var p Pin
	if err := json.Unmarshal(b, &p); err != nil || p.ChainID == "" || p.Genesis == "" || p.Registry == "" {
		return Pin{}, false, fmt.Errorf("ledger: read pin: malformed %s", SecretPin)
	}
	return p, true, nil
}

func storePin(ks KeyStore, p Pin) error {
	b, _ := json.Marshal(p)
	if err := ks.PutSecret(SecretPin, b); err != nil {
		return fmt.Errorf("ledger: store pin: %w", err)
	}
	return nil
}

// Trust checks the client's chain against the vault's pin, pinning it at
// first use (first is then true), and from then on checks every Check
// answer against it. A chain that differs is refused with a *PinError
// (wrapping ErrPinMismatch): the client stays unpinned and Check refuses.
func (c *Client) Trust(ctx context.Context, ks KeyStore, where string) (p Pin, first bool, err error) {
	got, err := c.ReadPin(ctx, where)
	if err != nil {
		return Pin{}, false, err
	}
	pinned, ok, err := LoadPin(ks)
	if err != nil {
		return Pin{}, false, err
	}
	if !ok {
		if err := storePin(ks, got); err != nil {
			return Pin{}, false, err
		}
		c.setPin(&got, nil)
		return got, true, nil
	}
	if diff := pinned.compare(got); len(diff) > 0 {
		perr := &PinError{Pinned: pinned, Got: got, Fields: diff}
		c.setPin(&pinned, perr) // every answer is refused
		return pinned, false, perr
	}
	c.setPin(&pinned, nil)
	return pinned, false, nil
}

// Repin replaces the vault's pin with the client's chain. Call it only
// when the person has confirmed, on a terminal, that the new chain is
// theirs.
func (c *Client) Repin(ctx context.Context, ks KeyStore, where string) (Pin, error) {
	got, err := c.ReadPin(ctx, where)
	if err != nil {
		return Pin{}, err
	}
	if err := storePin(ks, got); err != nil {
		return Pin{}, err
	}
	c.setPin(&got, nil)
	return got, nil
}

func (c *Client) setPin(p *Pin, mismatch error) {
	c.pinMu.Lock()
	c.pin, c.pinErr = p, mismatch
	c.pinMu.Unlock()
	c.DropCache()
}

// Pinned returns the pin the client checks answers against (nil before
// Trust).
func (c *Client) Pinned() *Pin {
	c.pinMu.Lock()
	defer c.pinMu.Unlock()
	if c.pin == nil {
		return nil
	}
	p := *c.pin
	return &p
}

// checkAnswer verifies that an answer read at block came from the pinned
// chain: the registry holds the pinned code there. Without a pin (Trust
// not called) every answer passes.
func (c *Client) checkAnswer(ctx context.Context, block *big.Int) error {
	c.pinMu.Lock()
	p, perr := c.pin, c.pinErr
	c.pinMu.Unlock()
	if perr != nil {
		return perr
	}
	if p == nil {
		return nil
	}
	if p.ChainID != c.chainID.String() || !strings.EqualFold(p.Registry, c.regAddr.Hex()) {
		return fmt.Errorf("ledger: %w: the client's chain id or registry is not the pinned one", ErrPinMismatch)
	}
	code, err := c.b.CodeAt(ctx, common.HexToAddress(p.Registry), block)
	if err != nil {
		return wrapRPC("ledger: registry code", err)
	}
	if got := crypto.Keccak256Hash(code).Hex(); !strings.EqualFold(got, p.Code) {
		return fmt.Errorf("ledger: %w: the registry's code at block %s is %s", ErrPinMismatch, block, short(got))
	}
	return nil
}
