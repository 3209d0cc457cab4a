package tenants_test

import (
	"context"
	"strings"
	"sync"
	"testing"

	"kefu"
	"kefu/tenants"
	"kefu/tenants/tenantstest"
)

// TestSignupNeverNamesAnotherWorkspace: a company name whose slug is taken
// gets a free suffixed slug instead of a 409 that tells the caller some
// other business exists under that name (security review, finding 11), and
// ten signups of one company at once all succeed with ten slugs.
func TestSignupNeverNamesAnotherWorkspace(t *testing.T) {
	for _, b := range tenantstest.Backends(t) {
		t.Run(b.Name, func(t *testing.T) {
			ctx := context.Background()
			svc := newService(t, b.Store)
			first := signup(t, svc, "Taken Name Co")
			second, err := svc.Signup(ctx, tenants.SignupInput{Company: "Taken Name Co", Email: "x@example.com", Password: "password1", Name: "X"})
			if err != nil {
				t.Fatalf("second signup of a taken name: %v", err)
			}
			if second.Tenant.Slug == first.Tenant.Slug || !strings.HasPrefix(second.Tenant.Slug, first.Tenant.Slug+"-") {
				t.Fatalf("slugs %q and %q: want the second to be %q plus a suffix", first.Tenant.Slug, second.Tenant.Slug, first.Tenant.Slug)
			}
			if _, _, err := svc.Login(ctx, second.Tenant.Slug, "x@example.com", "password1"); err != nil {
				t.Fatalf("login to the suffixed workspace: %v", err)
			}

			t.Run("ten at once all succeed with distinct slugs", func(t *testing.T) {
				var wg sync.WaitGroup
				res := make([]tenants.SignupResult, 10)
				errs := make([]error, 10)
				for i := range res {
					wg.Add(1)
					go func() {
						defer wg.Done()
						res[i], errs[i] = svc.Signup(ctx, tenants.SignupInput{Company: "Race Co", Email: "r@example.com", Password: "password1", Name: "R"})
					}()
				}
				wg.Wait()
				slugs := map[string]bool{}
				for i, err := range errs {
					if err != nil {
						t.Fatalf("signup %d: %v", i, err)
					}
					slugs[res[i].Tenant.Slug] = true
				}
				if len(slugs) != 10 {
					t.Fatalf("%d distinct slugs of 10: %v", len(slugs), slugs)
				}
				for _, r := range res {
					if _, _, err := svc.Login(ctx, r.Tenant.Slug, "r@example.com", "password1"); err != nil {
						t.Fatalf("login to %s: %v", r.Tenant.Slug, err)
					}
				}
			})
		})
	}
}

// TestControlCharactersAreInvalidOnBothBackends: NUL and other control
// characters are refused with invalid_argument before any statement runs;
// on PostgreSQL they used to fail the statement (a 500).
func TestControlCharactersAreInvalidOnBothBackends(t *testing.T) {
	for _, b := range tenantstest.Backends(t) {
		t.Run(b.Name, func(t *testing.T) {
			ctx := context.Background()
			svc := newService(t, b.Store)
			res := signup(t, svc, "Nul Co")
			owner := mustAuth(t, svc, res.Token)
			checks := []struct {
				name  string
				field string
				err   func() error
			}{
				{"login with a NUL tenant", "tenant", func() error { _, _, err := svc.Login(ctx, "a\x00", "x@y.zz", "password1"); return err }},
				{"login with a NUL email", "email", func() error {
					_, _, err := svc.Login(ctx, res.Tenant.Slug, "owner@example.com\x00", "password1")
					return err
				}},
				{"signup with a NUL company", "company", func() error {
					_, err := svc.Signup(ctx, tenants.SignupInput{Company: "Bad\x00Co", Email: "b@example.com", Password: "password1", Name: "B"})
					return err
				}},
				{"signup with an escape in the name", "name", func() error {
					_, err := svc.Signup(ctx, tenants.SignupInput{Company: "Esc Co", Email: "b@example.com", Password: "password1", Name: "B\x1b[31m"})
					return err
				}},
				{"an agent with a NUL name", "name", func() error {
					_, err := svc.CreateAgent(ctx, owner, tenants.AgentInput{Email: "a@example.com", Name: "A\x00", Password: "password1"})
					return err
				}},
				{"an agent with a NUL skill", "skills", func() error {
					_, err := svc.CreateAgent(ctx, owner, tenants.AgentInput{Email: "a@example.com", Name: "A", Password: "password1", Skills: []string{"vip\x00"}})
					return err
				}},
				{"an API key with a NUL name", "name", func() error {
					_, _, err := svc.CreateAPIKey(ctx, owner, "crm\x00", "developer")
					return err
				}},
				{"a tenant renamed with a NUL", "name", func() error {
					n := "Renamed\x00"
					_, err := svc.UpdateTenant(ctx, res.Tenant.ID, tenants.TenantUpdate{Name: &n})
					return err
				}},
			}
			for _, c := range checks {
				t.Run(c.name, func(t *testing.T) {
					e, ok := kefu.AsError(c.err())
					if !ok || e.Code != kefu.EInvalid || e.Fields[c.field] == "" {
						t.Fatalf("got %v, want invalid_argument on %s", e, c.field)
					}
				})
			}
			t.Run("a user id with a NUL is simply not found", func(t *testing.T) {
				if _, err := svc.User(ctx, res.Tenant.ID, "a\x00b"); kefu.Code(err) != kefu.ENotFound {
					t.Fatalf("got %v, want not_found", err)
				}
			})
		})
	}
}
