package tenants_test

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"kefu"
	"kefu/tenants"
	"kefu/tenants/tenantstest"
)

// workspace is a tenant with one signed-in principal per role.
type workspace struct {
	svc    *tenants.Service
	tenant tenants.Tenant
	as     map[string]tenants.Principal // owner, admin, supervisor, agent, developer key, admin key
	n      atomic.Int64
}

func newWorkspace(t *testing.T, svc *tenants.Service, name string) *workspace {
	t.Helper()
	ctx := context.Background()
	res := signup(t, svc, name+" "+tenants.NewID()[24:])
	w := &workspace{svc: svc, tenant: res.Tenant, as: map[string]tenants.Principal{}}
	w.as["owner"] = mustAuth(t, svc, res.Token)
	for _, role := range []string{"admin", "supervisor", "agent"} {
		w.as[role] = w.signIn(t, w.user(t, role))
	}
	for _, role := range []string{"developer", "admin"} {
		_, key, err := svc.CreateAPIKey(ctx, w.as["owner"], role+" key", role)
		if err != nil {
			t.Fatal(err)
		}
		w.as[role+" key"] = mustAuth(t, svc, key)
	}
	return w
}

func mustAuth(t *testing.T, svc *tenants.Service, token string) tenants.Principal {
	t.Helper()
	p, err := svc.Authenticate(context.Background(), token)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// user makes a fresh user with the role (as the owner) and returns it.
func (w *workspace) user(t *testing.T, role string) tenants.User {
	t.Helper()
	u, err := w.svc.CreateAgent(context.Background(), w.as["owner"], tenants.AgentInput{
		Email: fmt.Sprintf("%s%d@example.com", role, w.n.Add(1)), Name: "A " + role, Password: "password1", Role: role,
	})
	if err != nil {
		t.Fatal(err)
	}
	return u
}

func (w *workspace) signIn(t *testing.T, u tenants.User) tenants.Principal {
	t.Helper()
	tok, _, err := w.svc.Login(context.Background(), w.tenant.Slug, u.Email, "password1")
	if err != nil {
		t.Fatal(err)
	}
	return mustAuth(t, w.svc, tok)
}

// outcome is what an action should come to: done, or the error code.
const ok = ""

// TestUserAdminRules is the RBAC table of user administration: every kind
// of caller × every user-admin action × every target role, enforced by the
// tenants service itself (the HTTP middleware is only a first gate).
func TestUserAdminRules(t *testing.T) {
	actors := []string{"owner", "admin", "supervisor", "agent", "developer key", "admin key"}
	targets := []string{"owner", "admin", "supervisor", "agent"}
	rank := map[string]int{"agent": 1, "supervisor": 2, "admin": 3, "owner": 4}
	type action struct {
		name string
		do   func(ctx context.Context, w *workspace, actor tenants.Principal, target tenants.User) error
		// self: the outcome when the target is the actor itself (the owner).
		self string
	}
	str := func(s string) *string { return &s }
	actions := []action{
		{"rename", func(ctx context.Context, w *workspace, a tenants.Principal, u tenants.User) error {
			_, err := w.svc.UpdateAgent(ctx, a, u.ID, tenants.AgentUpdate{Name: str("Renamed")})
			return err
		}, ok},
		{"change skills and cap", func(ctx context.Context, w *workspace, a tenants.Principal, u tenants.User) error {
			n := 7
			_, err := w.svc.UpdateAgent(ctx, a, u.ID, tenants.AgentUpdate{Skills: &[]string{"billing"}, MaxConcurrent: &n})
			return err
		}, ok},
		{"demote to agent", func(ctx context.Context, w *workspace, a tenants.Principal, u tenants.User) error {
			_, err := w.svc.UpdateAgent(ctx, a, u.ID, tenants.AgentUpdate{Role: str(tenants.RoleAgent)})
			return err
		}, kefu.EConflict},
		{"make admin", func(ctx context.Context, w *workspace, a tenants.Principal, u tenants.User) error {
			_, err := w.svc.UpdateAgent(ctx, a, u.ID, tenants.AgentUpdate{Role: str(tenants.RoleAdmin)})
			return err
		}, kefu.EConflict},
		{"deactivate", func(ctx context.Context, w *workspace, a tenants.Principal, u tenants.User) error {
			_, err := w.svc.DeactivateUser(ctx, a, u.ID)
			return err
		}, kefu.EConflict},
		{"reactivate", func(ctx context.Context, w *workspace, a tenants.Principal, u tenants.User) error {
			if u.Role != tenants.RoleOwner {
				if _, err := w.svc.DeactivateUser(ctx, w.as["owner"], u.ID); err != nil {
					return fmt.Errorf("setup: %w", err)
				}
			}
			_, err := w.svc.ReactivateUser(ctx, a, u.ID)
			return err
		}, ok},
		{"delete", func(ctx context.Context, w *workspace, a tenants.Principal, u tenants.User) error {
			return w.svc.DeleteUser(ctx, a, u.ID)
		}, kefu.EConflict},
		{"reset password", func(ctx context.Context, w *workspace, a tenants.Principal, u tenants.User) error {
			return w.svc.ResetPassword(ctx, a, u.ID, "a new password")
		}, kefu.EConflict},
	}
	want := func(actor, target string, act action) string {
		switch actor {
		case "developer key", "supervisor", "agent":
			return kefu.EDenied // these roles lack agents:write
		case "admin key":
			// Keys manage agents and supervisors only, and never make admins.
			if rank[target] > rank["supervisor"] || act.name == "make admin" {
				return kefu.EDenied
			}
			return ok
		}
		if rank[target] > rank[actor] {
			return kefu.EDenied // admins may not touch the owner
		}
		if target == "owner" {
			return act.self // the only owner is the actor itself, and the last one
		}
		return ok
	}
	for _, b := range tenantstest.Backends(t) {
		t.Run(b.Name, func(t *testing.T) {
			ctx := context.Background()
			svc := newService(t, b.Store)
			w := newWorkspace(t, svc, "Rules")
			for _, actor := range actors {
				for _, act := range actions {
					for _, target := range targets {
						expect := want(actor, target, act)
						t.Run(fmt.Sprintf("%s may %s a %s: %q", actor, act.name, target, expect), func(t *testing.T) {
							var u tenants.User
							if target == "owner" {
								u, _ = svc.User(ctx, w.tenant.ID, w.as["owner"].ID)
							} else {
								u = w.user(t, target)
							}
							err := act.do(ctx, w, w.as[actor], u)
							if got := codeOf(err); got != expect {
								t.Fatalf("got %v, want %q", err, expect)
							}
							if expect == ok {
								return
							}
							after, gerr := svc.User(ctx, w.tenant.ID, u.ID)
							if act.name == "reactivate" && u.Role != "owner" {
								u.Active = false // the setup deactivated them; a refusal leaves them so
							}
							if gerr != nil || after.Name != u.Name || after.Role != u.Role || after.Active != u.Active || after.MaxConcurrent != u.MaxConcurrent {
								t.Fatalf("a refused %s changed the user: %+v → %+v (%v)", act.name, u, after, gerr)
							}
						})
					}
				}
			}

			t.Run("creating users: admin keys agents and supervisors only, supervisors and agents never, nobody an owner", func(t *testing.T) {
				for _, actor := range actors {
					for _, role := range []string{"agent", "supervisor", "admin", "owner"} {
						expect := want(actor, role, action{})
						if role == "owner" && (actor == "owner" || actor == "admin" || actor == "admin key") {
							expect = kefu.EInvalid // owners come only from signup: not a role one can give
						}
						_, err := svc.CreateAgent(ctx, w.as[actor], tenants.AgentInput{Email: fmt.Sprintf("new%d@example.com", w.n.Add(1)), Name: "New", Password: "password1", Role: role})
						if got := codeOf(err); got != expect {
							t.Errorf("%s creating a %s: got %v, want %q", actor, role, err, expect)
						}
					}
				}
			})

			t.Run("nobody grants more than they hold, whatever the tenant's policy", func(t *testing.T) {
				// This tenant lets supervisors manage users too: they still
				// cannot make or touch admins.
				res := signup(t, svc, "Lenient "+tenants.NewID()[24:])
				db, _ := b.Store.Tenant(res.Tenant.ID)
				if err := db.Exec(`INSERT INTO `+db.Table("casbin_rules")+` (ptype, v0, v1, v2, v3) VALUES ('p', 'supervisor', ?, 'agents', 'write')`, res.Tenant.ID).Error; err != nil {
					t.Fatal(err)
				}
				owner := mustAuth(t, svc, res.Token)
				lw := &workspace{svc: svc, tenant: res.Tenant, as: map[string]tenants.Principal{"owner": owner}}
				sup := lw.signIn(t, lw.user(t, "supervisor"))
				admin := lw.user(t, "admin")
				agent := lw.user(t, "agent")
				if _, err := svc.CreateAgent(ctx, sup, tenants.AgentInput{Email: "a1@example.com", Name: "A", Password: "password1", Role: "admin"}); codeOf(err) != kefu.EDenied {
					t.Errorf("supervisor creating an admin: %v", err)
				}
				if _, err := svc.CreateAgent(ctx, sup, tenants.AgentInput{Email: "a2@example.com", Name: "A", Password: "password1", Role: "supervisor"}); err != nil {
					t.Errorf("supervisor creating a supervisor: %v", err)
				}
				if _, err := svc.UpdateAgent(ctx, sup, agent.ID, tenants.AgentUpdate{Role: str("admin")}); codeOf(err) != kefu.EDenied {
					t.Errorf("supervisor promoting an agent to admin: %v", err)
				}
				if _, err := svc.DeactivateUser(ctx, sup, admin.ID); codeOf(err) != kefu.EDenied {
					t.Errorf("supervisor deactivating an admin: %v", err)
				}
				if _, err := svc.UpdateAgent(ctx, sup, agent.ID, tenants.AgentUpdate{Role: str("supervisor")}); err != nil {
					t.Errorf("supervisor promoting an agent to supervisor: %v", err)
				}
			})

			t.Run("the last owner cannot be taken away, and another tenant's users are not found", func(t *testing.T) {
				owner := w.as["owner"]
				admin := w.signIn(t, w.user(t, "admin"))
				for name, err := range map[string]error{
					"admin demotes the owner":     second(svc.UpdateAgent(ctx, admin, owner.ID, tenants.AgentUpdate{Role: str("agent")})),
					"admin deactivates the owner": second(svc.DeactivateUser(ctx, admin, owner.ID)),
					"admin deletes the owner":     svc.DeleteUser(ctx, admin, owner.ID),
					"admin renames the owner":     second(svc.UpdateAgent(ctx, admin, owner.ID, tenants.AgentUpdate{Name: str("Mallory")})),
				} {
					if codeOf(err) != kefu.EDenied {
						t.Errorf("%s: %v", name, err)
					}
				}
				for name, err := range map[string]error{
					"owner demotes themselves":     second(svc.UpdateAgent(ctx, owner, owner.ID, tenants.AgentUpdate{Role: str("admin")})),
					"owner deactivates themselves": second(svc.DeactivateUser(ctx, owner, owner.ID)),
					"owner deletes themselves":     svc.DeleteUser(ctx, owner, owner.ID),
				} {
					if codeOf(err) != kefu.EConflict {
						t.Errorf("%s: %v", name, err)
					}
				}
				u, _ := svc.User(ctx, w.tenant.ID, owner.ID)
				if u.Role != tenants.RoleOwner || !u.Active {
					t.Fatalf("the owner after all that: %+v", u)
				}
				other := newWorkspace(t, svc, "Other")
				if _, err := svc.DeactivateUser(ctx, other.as["owner"], w.as["agent"].ID); codeOf(err) != kefu.ENotFound {
					t.Fatalf("deactivating another tenant's user: %v", err)
				}
			})
		})
	}
}

func second[T any](_ T, err error) error { return err }

func codeOf(err error) string {
	if err == nil {
		return ok
	}
	return kefu.Code(err)
}

// TestOffboarding covers what deactivation, deletion and password changes
// do to credentials, and the events they announce.
func TestOffboarding(t *testing.T) {
	for _, b := range tenantstest.Backends(t) {
		t.Run(b.Name, func(t *testing.T) {
			ctx := context.Background()
			svc := newService(t, b.Store)
			var (
				mu     sync.Mutex
				events []tenants.AccountEvent
			)
			svc.OnAccountEvent(func(_ context.Context, e tenants.AccountEvent) {
				mu.Lock()
				events = append(events, e)
				mu.Unlock()
			})
			announced := func(kind, user string) bool {
				mu.Lock()
				defer mu.Unlock()
				for _, e := range events {
					if e.Kind == kind && e.UserID == user {
						return true
					}
				}
				return false
			}
			w := newWorkspace(t, svc, "Offboard")

			t.Run("deactivation ends sessions and revokes the user's keys; reactivation lets them back", func(t *testing.T) {
				u := w.user(t, "admin")
				p := w.signIn(t, u)
				_, key, err := svc.CreateAPIKey(ctx, p, "theirs", "admin")
				if err != nil {
					t.Fatal(err)
				}
				mustAuth(t, svc, key)
				if _, err := svc.DeactivateUser(ctx, w.as["owner"], u.ID); err != nil {
					t.Fatal(err)
				}
				if _, err := svc.Revalidate(ctx, p); kefu.Code(err) != kefu.EAuth {
					t.Fatalf("session after deactivation: %v", err)
				}
				if _, err := svc.Authenticate(ctx, key); kefu.Code(err) != kefu.EAuth {
					t.Fatalf("their key after deactivation: %v", err)
				}
				if _, _, err := svc.Login(ctx, w.tenant.Slug, u.Email, "password1"); kefu.Code(err) != kefu.EAuth {
					t.Fatalf("login after deactivation: %v", err)
				}
				if !announced(tenants.AccountDeactivated, u.ID) {
					t.Fatal("deactivation was not announced")
				}
				if _, err := svc.ReactivateUser(ctx, w.as["owner"], u.ID); err != nil {
					t.Fatal(err)
				}
				w.signIn(t, u)
				if _, err := svc.Authenticate(ctx, key); kefu.Code(err) != kefu.EAuth {
					t.Fatalf("a revoked key came back with its creator: %v", err)
				}
			})

			t.Run("a key never acts above its creator's current role", func(t *testing.T) {
				u := w.user(t, "admin")
				p := w.signIn(t, u)
				_, adminKey, _ := svc.CreateAPIKey(ctx, p, "admin key", "admin")
				_, devKey, _ := svc.CreateAPIKey(ctx, p, "dev key", "developer")
				if k := mustAuth(t, svc, adminKey); k.Role != tenants.RoleAdmin {
					t.Fatalf("admin key: %+v", k)
				}
				role := "supervisor"
				if _, err := svc.UpdateAgent(ctx, w.as["owner"], u.ID, tenants.AgentUpdate{Role: &role}); err != nil {
					t.Fatal(err)
				}
				for name, key := range map[string]string{"admin key": adminKey, "developer key": devKey} {
					if _, err := svc.Authenticate(ctx, key); kefu.Code(err) != kefu.EAuth {
						t.Errorf("%s of a demoted admin: %v", name, err)
					}
				}
				if !announced(tenants.AccountRoleChanged, u.ID) {
					t.Fatal("the role change was not announced")
				}
				keys, _ := svc.APIKeys(ctx, w.tenant.ID)
				for _, k := range keys {
					if k.CreatedBy == u.ID {
						t.Fatalf("key %s of the demoted admin is still listed", k.Name)
					}
				}
			})

			t.Run("a key mints only developer keys, which belong to its own creator", func(t *testing.T) {
				if _, _, err := svc.CreateAPIKey(ctx, w.as["admin key"], "child", "admin"); kefu.Code(err) != kefu.EDenied {
					t.Fatalf("a key making an admin key: %v", err)
				}
				if _, _, err := svc.CreateAPIKey(ctx, w.as["developer key"], "child", "developer"); kefu.Code(err) != kefu.EDenied {
					t.Fatalf("a developer key making a key: %v", err)
				}
				child, _, err := svc.CreateAPIKey(ctx, w.as["admin key"], "child", "developer")
				if err != nil || child.CreatedBy != w.as["owner"].ID {
					t.Fatalf("an admin key making a developer key: %+v %v (want it to belong to the owner who made the admin key)", child, err)
				}
				if _, _, err := svc.CreateAPIKey(ctx, w.as["supervisor"], "sup", "developer"); kefu.Code(err) != kefu.EDenied {
					t.Fatalf("a supervisor making a key: %v", err)
				}
				k, _, err := svc.CreateAPIKey(ctx, w.as["admin"], "by admin", "admin")
				if err != nil || k.CreatedBy != w.as["admin"].ID {
					t.Fatalf("an admin making an admin key: %+v %v", k, err)
				}
			})

			t.Run("deletion frees the email and keeps the name behind the id", func(t *testing.T) {
				u := w.user(t, "agent")
				p := w.signIn(t, u)
				if err := svc.DeleteUser(ctx, w.as["admin"], u.ID); err != nil {
					t.Fatal(err)
				}
				if _, err := svc.Revalidate(ctx, p); kefu.Code(err) != kefu.EAuth {
					t.Fatalf("session after deletion: %v", err)
				}
				if _, err := svc.User(ctx, w.tenant.ID, u.ID); kefu.Code(err) != kefu.ENotFound {
					t.Fatalf("a deleted user is found: %v", err)
				}
				users, _ := svc.Users(ctx, w.tenant.ID)
				for _, x := range users {
					if x.ID == u.ID {
						t.Fatal("a deleted user is listed")
					}
				}
				if err := svc.DeleteUser(ctx, w.as["admin"], u.ID); kefu.Code(err) != kefu.ENotFound {
					t.Fatalf("deleting twice: %v", err)
				}
				if _, err := svc.CreateAgent(ctx, w.as["admin"], tenants.AgentInput{Email: u.Email, Name: "Again", Password: "password1"}); err != nil {
					t.Fatalf("re-inviting the address: %v", err)
				}
				db, _ := b.Store.Tenant(w.tenant.ID)
				var name string
				db.Raw(`SELECT name FROM `+db.Table("users")+` WHERE id = ?`, u.ID).Scan(&name)
				if name != u.Name {
					t.Fatalf("tombstone name %q, want %q", name, u.Name)
				}
			})

			t.Run("changing one's password ends the other sessions only", func(t *testing.T) {
				u := w.user(t, "agent")
				p1, p2 := w.signIn(t, u), w.signIn(t, u)
				if err := svc.ChangePassword(ctx, p1, "nope nope", "next password"); kefu.Code(err) != kefu.EInvalid {
					t.Fatalf("wrong current password: %v", err)
				}
				if err := svc.ChangePassword(ctx, p1, "password1", "next password"); err != nil {
					t.Fatal(err)
				}
				if _, err := svc.Revalidate(ctx, p1); err != nil {
					t.Fatalf("this session: %v", err)
				}
				if _, err := svc.Revalidate(ctx, p2); kefu.Code(err) != kefu.EAuth {
					t.Fatalf("the other session: %v", err)
				}
				if err := svc.ChangePassword(ctx, w.as["admin key"], "x", "next password"); kefu.Code(err) != kefu.EDenied {
					t.Fatalf("an API key changing a password: %v", err)
				}
			})
		})
	}
}

// TestLoginLockout: after N failures for a workspace+email, sign-ins to it
// answer rate_limited — the same whether or not the account exists — until
// the window passes; a success or an admin's reset clears the count.
func TestLoginLockout(t *testing.T) {
	for _, b := range tenantstest.Backends(t) {
		t.Run(b.Name, func(t *testing.T) {
			ctx := context.Background()
			var clock atomic.Int64
			clock.Store(time.Date(2026, 12, 1, 9, 0, 0, 0, time.UTC).UnixNano())
			now := func() time.Time { return time.Unix(0, clock.Load()).UTC() }
			advance := func(d time.Duration) { clock.Add(int64(d)) }
			svc := tenants.NewService(b.Store, tenants.Config{Secret: []byte("0123456789abcdef0123456789abcdef"), Now: now, LoginAttempts: 3, LockoutWindow: 15 * time.Minute})
			res := signup(t, svc, "Lockout "+tenants.NewID()[24:])
			slug := res.Tenant.Slug
			login := func(email, pw string) error {
				_, _, err := svc.Login(ctx, slug, email, pw)
				return err
			}
			for _, email := range []string{"owner@example.com", "nobody@example.com"} {
				for i := 0; i < 3; i++ {
					if err := login(email, "wrong password"); kefu.Code(err) != kefu.EAuth {
						t.Fatalf("%s failure %d: %v", email, i+1, err)
					}
				}
				err := login(email, "correct horse")
				e, _ := kefu.AsError(err)
				if e == nil || e.Code != kefu.ERateLimit || e.RetryAfter <= 0 || e.RetryAfter > 15*time.Minute {
					t.Fatalf("%s locked: %v", email, err)
				}
			}
			if err := login("OWNER@example.com ", "correct horse"); kefu.Code(err) != kefu.ERateLimit {
				t.Fatalf("the same address in other case: %v", err)
			}
			advance(16 * time.Minute)
			if err := login("owner@example.com", "correct horse"); err != nil {
				t.Fatalf("after the lockout: %v", err)
			}

			// A success clears the count.
			_ = login("owner@example.com", "wrong password")
			_ = login("owner@example.com", "wrong password")
			if err := login("owner@example.com", "correct horse"); err != nil {
				t.Fatal(err)
			}
			_ = login("owner@example.com", "wrong password")
			if err := login("owner@example.com", "correct horse"); err != nil {
				t.Fatalf("a success did not clear the count: %v", err)
			}

			// Failures spread over more than the window do not add up.
			for i := 0; i < 2; i++ {
				_ = login("owner@example.com", "wrong password")
				advance(10 * time.Minute)
			}
			_ = login("owner@example.com", "wrong password")
			if err := login("owner@example.com", "correct horse"); err != nil {
				t.Fatalf("old failures counted: %v", err)
			}

			// An admin's reset lifts a lockout.
			owner := mustAuth(t, svc, res.Token)
			u, err := svc.CreateAgent(ctx, owner, tenants.AgentInput{Email: "kim@example.com", Name: "Kim", Password: "password1"})
			if err != nil {
				t.Fatal(err)
			}
			for i := 0; i < 3; i++ {
				_ = login("kim@example.com", "wrong password")
			}
			if err := login("kim@example.com", "password1"); kefu.Code(err) != kefu.ERateLimit {
				t.Fatalf("kim locked: %v", err)
			}
			if err := svc.ResetPassword(ctx, owner, u.ID, "fresh password"); err != nil {
				t.Fatal(err)
			}
			if err := login("kim@example.com", "fresh password"); err != nil {
				t.Fatalf("after the reset: %v", err)
			}
		})
	}
}

// TestExpiredSessionsAreSwept: expired session rows are deleted (on a
// sign-in at most once a minute, or by Sweep), live ones are kept.
func TestExpiredSessionsAreSwept(t *testing.T) {
	for _, b := range tenantstest.Backends(t) {
		t.Run(b.Name, func(t *testing.T) {
			ctx := context.Background()
			var clock atomic.Int64
			clock.Store(time.Date(2026, 12, 1, 9, 0, 0, 0, time.UTC).UnixNano())
			now := func() time.Time { return time.Unix(0, clock.Load()).UTC() }
			svc := tenants.NewService(b.Store, tenants.Config{Secret: []byte("0123456789abcdef0123456789abcdef"), Now: now, SessionTTL: time.Hour})
			res := signup(t, svc, "Sweep "+tenants.NewID()[24:])
			count := func() int64 {
				var n int64
				b.Store.Platform().Raw(`SELECT count(*) FROM `+b.Store.Platform().Table("sessions")+` WHERE tenant_id = ?`, res.Tenant.ID).Scan(&n)
				return n
			}
			if _, _, err := svc.Login(ctx, res.Tenant.Slug, "owner@example.com", "correct horse"); err != nil {
				t.Fatal(err)
			}
			if n := count(); n != 2 {
				t.Fatalf("%d sessions, want 2", n)
			}
			clock.Add(int64(2 * time.Hour))
			if _, err := svc.Authenticate(ctx, res.Token); kefu.Code(err) != kefu.EAuth {
				t.Fatalf("an expired session: %v", err)
			}
			if _, _, err := svc.Login(ctx, res.Tenant.Slug, "owner@example.com", "correct horse"); err != nil {
				t.Fatal(err)
			}
			if n := count(); n != 1 {
				t.Fatalf("%d sessions after the sign-in's sweep, want only the new one", n)
			}
			clock.Add(int64(2 * time.Hour))
			if n, err := svc.Sweep(ctx); err != nil || n < 1 {
				t.Fatalf("sweep: %d %v", n, err)
			}
			if n := count(); n != 0 {
				t.Fatalf("%d sessions after the sweep", n)
			}
		})
	}
}
