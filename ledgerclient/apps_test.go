package ledgerclient_test

import (
	"testing"
)

func TestAnAppGrantIsNotAPluginGrantAndTheOtherWayRound(t *testing.T) {
	t.Parallel()
	e := newSimEnv(t)
	ctx := t.Context()
	if _, err := e.c.GrantApp(ctx, e.owner, e.id, e.plugin, "vault:read", 30*day); err != nil {
		t.Fatal(err)
	}
	app, err := e.c.CheckApp(ctx, e.id, e.plugin, "vault:read")
	if err != nil || !app.Allowed {
		t.Fatalf("CheckApp after GrantApp: %+v, %v; want allowed", app, err)
	}
	if d := mustCheck(t, e.c, e.id, e.plugin, "vault:read"); d.Allowed {
		t.Fatalf("the plugin check of an app grant: %+v, want denied", d)
	}
	if _, err := e.c.Grant(ctx, e.owner, e.id, e.plugin, "tool", 30*day); err != nil {
		t.Fatal(err)
	}
	if d, err := e.c.CheckApp(ctx, e.id, e.plugin, "tool"); err != nil || d.Allowed {
		t.Fatalf("the app check of a plugin grant: %+v, %v; want denied", d, err)
	}

	st, err := e.c.State(ctx, e.id)
	if err != nil {
		t.Fatal(err)
	}
	apps := st.AppGrants()
	if len(apps) != 1 || apps[0].Scope != "vault:read" || apps[0].Plugin != e.plugin {
		t.Fatalf("AppGrants = %+v, want the one vault:read grant", apps)
	}
	plugs := st.Grants()
	if len(plugs) != 1 || plugs[0].Scope != "tool" {
		t.Fatalf("Grants = %+v, want only the plugin's tool grant", plugs)
	}
}

func TestARevokedAppIsDeniedOnTheNextCheck(t *testing.T) {
	t.Parallel()
	e := newSimEnv(t)
	ctx := t.Context()
	if _, err := e.c.GrantApp(ctx, e.owner, e.id, e.plugin, "chat", 30*day); err != nil {
		t.Fatal(err)
	}
	first, _ := e.c.CheckApp(ctx, e.id, e.plugin, "chat")
	second, _ := e.c.CheckApp(ctx, e.id, e.plugin, "chat")
	if !first.Allowed || !second.Allowed || !second.FromCache {
		t.Fatalf("first %+v, second %+v: want allowed, then allowed from the cache", first, second)
	}
	if err := e.c.RevokeApp(ctx, e.owner, e.id, e.plugin, "chat"); err != nil {
		t.Fatal(err)
	}
	d, err := e.c.CheckApp(ctx, e.id, e.plugin, "chat")
	if err != nil || d.Allowed || d.FromCache {
		t.Fatalf("after RevokeApp: %+v, %v; want denied, read from the chain", d, err)
	}
	st, err := e.c.State(ctx, e.id)
	if err != nil {
		t.Fatal(err)
	}
	if gs := st.AppGrants(); len(gs) != 1 || gs[0].Active(st.Time) {
		t.Fatalf("AppGrants after revoke = %+v, want one ended grant", gs)
	}
}
