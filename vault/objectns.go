package vault

// SecretObjects names the live objects of the "secret" namespace, so that
// sync can withhold them from a peer (secrets travel only when both
// devices enable it).
func (v *Vault) SecretObjects() map[string]bool {
	v.mu.Lock()
	defer v.mu.Unlock()
	out := map[string]bool{}
	for _, ks := range v.st.ns[nsSecret] {
		for i := range ks.Heads {
			if r := ks.Heads[i].Ref; r != "" {
				out[r] = true
			}
		}
	}
	return out
}
