package vault

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"sort"
)

// StateDigest is a SHA-256 over what replication makes identical on every
// device of a vault: every device's log head, the merged state (every
// key's versions, in canonical order), the live objects this device holds
// (name and the stored ciphertext's hash) and the names of the key-epoch
// wraps. Two devices that hold the same logs and objects have the same
// digest; device-local files (key files, the index snapshot, PutLocal
// state) do not count. Sync tests compare it across devices.
func (v *Vault) StateDigest() (string, error) {
	v.mu.Lock()
	defer v.mu.Unlock()
	if err := v.check(); err != nil {
		return "", err
	}
	h := sha256.New()
	devs := make([]string, 0, len(v.heads))
	for d := range v.heads {
		devs = append(devs, d)
	}
	sort.Strings(devs)
	for _, d := range devs {
		fmt.Fprintf(h, "head %s %d %s\n", d, v.heads[d].Seq, v.heads[d].Hash)
	}
	st, err := v.st.encode()
	if err != nil {
		return "", err
	}
	fmt.Fprintf(h, "state %d\n", len(st))
	h.Write(st)
	refs := make([]string, 0, len(v.st.refs))
	for r := range v.st.refs {
		refs = append(refs, r)
	}
	sort.Strings(refs)
	for _, r := range refs {
		data, err := v.readObjectFile(r)
		if err != nil {
			fmt.Fprintf(h, "object %s missing\n", r)
			continue
		}
		s := sha256.Sum256(data)
		fmt.Fprintf(h, "object %s %x\n", r, s)
	}
	ws, err := v.Wraps()
	if err != nil {
		return "", err
	}
	names := make([]string, len(ws))
	for i, w := range ws {
		names[i] = w.Name
	}
	sort.Strings(names)
	for _, n := range names {
		fmt.Fprintf(h, "wrap %s\n", n)
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}
