package ledgerclient

import (
	"crypto/ecdsa"
	"errors"
	"fmt"
	"io/fs"
	"math/big"
	"strings"

	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/crypto"
)

// KeyStore keeps secrets encrypted at rest; the vault satisfies it, tests use
// a map. Secret returns an error wrapping ErrNoSecret or fs.ErrNotExist for a
// name it does not hold.
type KeyStore interface {
	Secret(name string) ([]byte, error)
	PutSecret(name string, data []byte) error
}

// Secret names used in the KeyStore.
const (
	// SecretIdentity is the identity's secp256k1 private key (32 bytes).
	SecretIdentity = "ledger/identity"
	// SecretDevChain is the embedded dev chain's funded account key.
	SecretDevChain = "ledger/devchain"
)

// IsNoSecret reports whether err says a KeyStore does not hold a name.
func IsNoSecret(err error) bool {
	return errors.Is(err, ErrNoSecret) || errors.Is(err, fs.ErrNotExist)
}

// LoadIdentity returns the identity key, or an error wrapping ErrNoIdentity.
func LoadIdentity(ks KeyStore) (*ecdsa.PrivateKey, error) {
	return loadKey(ks, SecretIdentity, ErrNoIdentity)
}

// CreateIdentity makes a new identity key and stores it; it refuses to
// replace one (ErrIdentityExists).
func CreateIdentity(ks KeyStore) (*ecdsa.PrivateKey, error) {
	if _, err := LoadIdentity(ks); err == nil {
		return nil, fmt.Errorf("ledger: create identity: %w", ErrIdentityExists)
	} else if !errors.Is(err, ErrNoIdentity) {
		return nil, err
	}
	return newStoredKey(ks, SecretIdentity)
}

// loadOrCreateKey returns the key stored under name, making it first if none.
func loadOrCreateKey(ks KeyStore, name string) (*ecdsa.PrivateKey, error) {
	k, err := loadKey(ks, name, ErrNoSecret)
	if err == nil {
		return k, nil
	}
	if !errors.Is(err, ErrNoSecret) {
		return nil, err
	}
	return newStoredKey(ks, name)
}

func loadKey(ks KeyStore, name string, missing error) (*ecdsa.PrivateKey, error) {
	raw, err := ks.Secret(name)
	if IsNoSecret(err) {
		return nil, fmt.Errorf("ledger: key %q: %w", name, missing)
	}
	if err != nil {
		return nil, fmt.Errorf("ledger: key %q: %w", name, err)
	}
	k, err := crypto.ToECDSA(raw)
	if err != nil {
		// Not err's text: it could describe the key's bytes.
		return nil, fmt.Errorf("ledger: key %q is not a secp256k1 private key", name)
	}
	return k, nil
}

func newStoredKey(ks KeyStore, name string) (*ecdsa.PrivateKey, error) {
	k, err := crypto.GenerateKey()
	if err != nil {
		return nil, fmt.Errorf("ledger: new key %q: %w", name, err)
	}
	if err := ks.PutSecret(name, crypto.FromECDSA(k)); err != nil {
		return nil, fmt.Errorf("ledger: store key %q: %w", name, err)
	}
	return k, nil
}

// Address is the account address of a key.
func Address(k *ecdsa.PrivateKey) common.Address { return crypto.PubkeyToAddress(k.PublicKey) }

// DID names an identity: did:ethr:<chainId>:<address> (chain id in decimal,
// address checksummed).
func DID(chainID *big.Int, identity common.Address) string {
	return fmt.Sprintf("did:ethr:%s:%s", chainID, identity.Hex())
}

// ParseDID reads did:ethr:<chainId>:<address> (also did:ethr:<address>,
// chain id nil, and a hex chain id such as 0x539).
func ParseDID(s string) (*big.Int, common.Address, error) {
	parts := strings.Split(s, ":")
	if len(parts) < 3 || len(parts) > 4 || parts[0] != "did" || parts[1] != "ethr" {
		return nil, common.Address{}, fmt.Errorf("ledger: %q is not a did:ethr name", s)
	}
	addr := parts[len(parts)-1]
	if !common.IsHexAddress(addr) {
		return nil, common.Address{}, fmt.Errorf("ledger: %q: %q is not an address", s, addr)
	}
	var id *big.Int
	if len(parts) == 4 {
		var ok bool
		id, ok = new(big.Int).SetString(parts[2], 0)
		if !ok {
			return nil, common.Address{}, fmt.Errorf("ledger: %q: %q is not a chain id", s, parts[2])
		}
	}
	return id, common.HexToAddress(addr), nil
}
