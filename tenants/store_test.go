package tenants_test

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"

	"kefu"
	"kefu/tenants"
	"kefu/tenants/tenantstest"
)

func newService(t *testing.T, s *tenants.Store) *tenants.Service {
	t.Helper()
	return tenants.NewService(s, tenants.Config{Secret: []byte("0123456789abcdef0123456789abcdef")})
}

func signup(t *testing.T, svc *tenants.Service, company string) tenants.SignupResult {
	t.Helper()
	res, err := svc.Signup(context.Background(), tenants.SignupInput{Company: company, Email: "owner@example.com", Password: "correct horse", Name: "Owner"})
	if err != nil {
		t.Fatalf("signup %q: %v", company, err)
	}
	return res
}

func TestStore(t *testing.T) {
	for _, b := range tenantstest.Backends(t) {
		t.Run(b.Name, func(t *testing.T) {
			ctx := context.Background()
			svc := newService(t, b.Store)

			t.Run("provisioning a tenant twice is harmless", func(t *testing.T) {
				res := signup(t, svc, "Twice Co")
				for i := 0; i < 2; i++ {
					if _, err := b.Store.Provision(ctx, res.Tenant.ID); err != nil {
						t.Fatalf("provision again: %v", err)
					}
				}
				users, err := svc.Users(ctx, res.Tenant.ID)
				if err != nil || len(users) != 1 {
					t.Fatalf("users after re-provision: %v %v", users, err)
				}
			})

			t.Run("concurrent provisioning of one tenant succeeds once", func(t *testing.T) {
				id := tenants.NewID()
				var wg sync.WaitGroup
				errs := make(chan error, 8)
				for i := 0; i < 8; i++ {
					wg.Add(1)
					go func() {
						defer wg.Done()
						_, err := b.Store.Provision(ctx, id)
						errs <- err
					}()
				}
				wg.Wait()
				close(errs)
				for err := range errs {
					if err != nil {
						t.Fatalf("concurrent provision: %v", err)
					}
				}
				if err := b.Store.Deprovision(ctx, id); err != nil {
					t.Fatal(err)
				}
			})

			t.Run("migrations re-run safely on every tenant", func(t *testing.T) {
				signup(t, svc, "Migrate Me")
				n1, err := b.Store.MigrateAll(ctx)
				if err != nil {
					t.Fatal(err)
				}
				n2, err := b.Store.MigrateAll(ctx)
				if err != nil || n1 != n2 || n1 < 1 {
					t.Fatalf("second migrate: n1=%d n2=%d err=%v", n1, n2, err)
				}
			})

			t.Run("a slug the caller chose and that is taken is already_exists", func(t *testing.T) {
				first := signup(t, svc, "Same Name Ltd")
				_, err := svc.Signup(ctx, tenants.SignupInput{Company: "Other Ltd", Slug: first.Tenant.Slug, Email: "x@example.com", Password: "password1", Name: "X"})
				if e, ok := kefu.AsError(err); !ok || e.Code != kefu.EExists || e.Fields["slug"] == "" {
					t.Fatalf("got %v, want already_exists on slug", err)
				}
			})

			t.Run("an email is unique within a tenant only", func(t *testing.T) {
				a := signup(t, svc, "Tenant A Email")
				signup(t, svc, "Tenant B Email") // same owner email, other business
				owner, _ := svc.Authenticate(ctx, a.Token)
				_, err := svc.CreateAgent(ctx, owner, tenants.AgentInput{Email: "OWNER@example.com", Name: "Dup", Password: "password1"})
				if kefu.Code(err) != kefu.EExists {
					t.Fatalf("got %v, want already_exists", err)
				}
			})

			t.Run("login, sessions and logout", func(t *testing.T) {
				res := signup(t, svc, "Login Co")
				token, u, err := svc.Login(ctx, res.Tenant.Slug, "owner@example.com", "correct horse")
				if err != nil || u.Role != tenants.RoleOwner {
					t.Fatalf("login: %v %+v", err, u)
				}
				p, err := svc.Authenticate(ctx, token)
				if err != nil || p.TenantID != res.Tenant.ID || p.ID != u.ID {
					t.Fatalf("authenticate: %+v %v", p, err)
				}
				if _, _, err := svc.Login(ctx, res.Tenant.Slug, "owner@example.com", "wrong password"); kefu.Code(err) != kefu.EAuth {
					t.Fatalf("wrong password: %v", err)
				}
				if _, _, err := svc.Login(ctx, "no-such-tenant", "owner@example.com", "correct horse"); kefu.Code(err) != kefu.EAuth {
					t.Fatalf("unknown tenant: %v", err)
				}
				if err := svc.Logout(ctx, p); err != nil {
					t.Fatal(err)
				}
				if _, err := svc.Authenticate(ctx, token); kefu.Code(err) != kefu.EAuth {
					t.Fatalf("token after logout: %v", err)
				}
			})

			t.Run("API keys authenticate until revoked", func(t *testing.T) {
				res := signup(t, svc, "Keys Co")
				owner, _ := svc.Authenticate(ctx, res.Token)
				k, key, err := svc.CreateAPIKey(ctx, owner, "crm", "developer")
				if err != nil {
					t.Fatal(err)
				}
				p, err := svc.Authenticate(ctx, key)
				if err != nil || p.Kind != tenants.KindAPIKey || p.Role != tenants.RoleDeveloper || p.Name != "crm" {
					t.Fatalf("authenticate key: %+v %v", p, err)
				}
				other := signup(t, svc, "Other Keys Co")
				if err := svc.RevokeAPIKey(ctx, other.Tenant.ID, k.ID); kefu.Code(err) != kefu.ENotFound {
					t.Fatalf("revoke from another tenant: %v", err)
				}
				if err := svc.RevokeAPIKey(ctx, res.Tenant.ID, k.ID); err != nil {
					t.Fatal(err)
				}
				if _, err := svc.Authenticate(ctx, key); kefu.Code(err) != kefu.EAuth {
					t.Fatalf("revoked key: %v", err)
				}
			})

			t.Run("RBAC follows the role hierarchy per tenant", func(t *testing.T) {
				res := signup(t, svc, "Rbac Co")
				cases := []struct {
					role, obj, act string
					want           bool
				}{
					{tenants.RoleOwner, tenants.ObjAgents, tenants.ActWrite, true},
					{tenants.RoleAdmin, tenants.ObjAPIKeys, tenants.ActWrite, true},
					{tenants.RoleSupervisor, tenants.ObjConversations, tenants.ActAssign, true},
					{tenants.RoleSupervisor, tenants.ObjAgents, tenants.ActWrite, false},
					{tenants.RoleAgent, tenants.ObjConversations, tenants.ActWrite, true},
					{tenants.RoleAgent, tenants.ObjAgents, tenants.ActWrite, false},
					{tenants.RoleAgent, tenants.ObjAPIKeys, tenants.ActWrite, false},
					{tenants.RoleDeveloper, tenants.ObjConversations, tenants.ActWrite, true},
					{tenants.RoleDeveloper, tenants.ObjAgents, tenants.ActWrite, false},
				}
				for _, c := range cases {
					got, err := svc.Can(tenants.Principal{TenantID: res.Tenant.ID, Role: c.role}, c.obj, c.act)
					if err != nil || got != c.want {
						t.Errorf("%s %s %s: got %v (%v), want %v", c.role, c.act, c.obj, got, err, c.want)
					}
				}
				// A principal of another tenant is judged by its own tenant's policies only.
				got, _ := svc.Can(tenants.Principal{TenantID: tenants.NewID(), Role: tenants.RoleOwner}, tenants.ObjAgents, tenants.ActWrite)
				if got {
					t.Error("a tenant without policies granted owner rights")
				}
			})
		})
	}
}

func TestSignupValidation(t *testing.T) {
	svc := newService(t, tenantstest.SQLite(t))
	cases := []struct {
		name  string
		in    tenants.SignupInput
		field string
	}{
		{"missing company", tenants.SignupInput{Email: "a@b.co", Password: "password1", Name: "A"}, "company"},
		{"bad email", tenants.SignupInput{Company: "Co", Email: "nope", Password: "password1", Name: "A"}, "email"},
		{"short password", tenants.SignupInput{Company: "Co", Email: "a@b.co", Password: "short", Name: "A"}, "password"},
		{"missing name", tenants.SignupInput{Company: "Co", Email: "a@b.co", Password: "password1"}, "name"},
		{"reserved slug", tenants.SignupInput{Company: "Co", Slug: "admin", Email: "a@b.co", Password: "password1", Name: "A"}, "slug"},
	}
	for _, c := range cases {
		t.Run(c.name+" names the field", func(t *testing.T) {
			_, err := svc.Signup(context.Background(), c.in)
			e, ok := kefu.AsError(err)
			if !ok || e.Code != kefu.EInvalid || e.Fields[c.field] == "" {
				t.Fatalf("got %v, want invalid_argument on %s", err, c.field)
			}
		})
	}
	t.Run("a company name without Latin letters still gets a valid slug", func(t *testing.T) {
		res, err := svc.Signup(context.Background(), tenants.SignupInput{Company: "张三商店", Email: "z@b.co", Password: "password1", Name: "张三"})
		if err != nil {
			t.Fatal(err)
		}
		if len(res.Tenant.Slug) < 3 {
			t.Fatalf("slug %q", res.Tenant.Slug)
		}
	})
}

func TestSlugify(t *testing.T) {
	for in, want := range map[string]string{
		"Acme Shop":           "acme-shop",
		"  Hello, World!! ":   "hello-world",
		"Ünïcode Café 2":      "n-code-caf-2",
		"张三商店":                "",
		fmt.Sprint("a-", 123): "a-123",
	} {
		if got := tenants.Slugify(in); got != want {
			t.Errorf("Slugify(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestPasswordHash(t *testing.T) {
	h, err := tenants.HashPassword("s3cret-pass")
	if err != nil {
		t.Fatal(err)
	}
	h2, _ := tenants.HashPassword("s3cret-pass")
	if h == h2 {
		t.Fatal("two hashes of one password are equal: no salt")
	}
	if !tenants.CheckPassword(h, "s3cret-pass") || tenants.CheckPassword(h, "s3cret-pasS") {
		t.Fatal("check is wrong")
	}
	if tenants.CheckPassword("garbage", "x") {
		t.Fatal("garbage hash verified")
	}
}

// A closed store hands out no handle: it used to reopen a tenant's SQLite
// file behind the Close (background work outliving a test then kept files
// open in a directory being removed).
func TestClosedStoreRefusesWork(t *testing.T) {
	ctx := context.Background()
	store := tenantstest.SQLite(t)
	ten := tenants.NewService(store, tenants.Config{Secret: []byte("0123456789abcdef0123456789abcdef")})
	res, err := ten.Signup(ctx, tenants.SignupInput{Company: "Closing " + tenants.NewID()[24:], Email: "o@example.com", Password: "password1", Name: "O"})
	if err != nil {
		t.Fatal(err)
	}
	store.Close()
	if _, err := store.Tenant(res.Tenant.ID); !errors.Is(err, tenants.ErrClosed) {
		t.Fatalf("a closed store handed out a tenant: %v", err)
	}
}
