package tenants_test

import (
	"context"
	"encoding/json"
	"slices"
	"strings"
	"testing"
	"time"

	"kefu/migrations"
	"kefu/tenants"
	"kefu/tenants/tenantstest"
)

// Tenant migration 0015 turns the team names in use (users' teams lists and
// conversations' team) into teams, and both places into the teams' ids. The
// test puts names back as an older server left them and runs the migration's
// data statements again.
func TestTeamNamesMigrateToIDs(t *testing.T) {
	for _, b := range tenantstest.Backends(t) {
		t.Run(b.Name, func(t *testing.T) {
			ctx := context.Background()
			svc := newService(t, b.Store)
			res := signup(t, svc, "Migrate "+tenants.NewID()[24:])
			db, err := svc.DB(res.Tenant.ID)
			if err != nil {
				t.Fatal(err)
			}
			now := time.Now().UTC()
			must := func(q string, args ...any) {
				t.Helper()
				if err := db.Exec(q, args...).Error; err != nil {
					t.Fatalf("%s: %v", q, err)
				}
			}
			must(`UPDATE `+db.Table("users")+` SET teams = ? WHERE id = ?`, `["Billing","vip"]`, res.User.ID)
			must(`INSERT INTO `+db.Table("visitors")+` (id, name, email, attributes, created_at, last_seen_at) VALUES ('v1', '', '', '{}', ?, ?)`, now, now)
			must(`INSERT INTO `+db.Table("conversations")+` (id, visitor_id, status, team, created_at, updated_at) VALUES ('c1', 'v1', 'queued', 'billing', ?, ?)`, now, now)
			must(`DELETE FROM ` + db.Table("teams"))

			migs, err := migrations.Load(migrations.Tenant, db.Dialect)
			if err != nil {
				t.Fatal(err)
			}
			i := slices.IndexFunc(migs, func(m migrations.Migration) bool { return m.Version == 15 })
			if i < 0 {
				t.Fatal("no migration 0015")
			}
			schema := strings.TrimSuffix(db.Table("x"), `."x"`) // `"t_…"` on PostgreSQL; SQLite's files have no {{schema}}
			var kept []string
			for _, line := range strings.Split(migs[i].SQL, "\n") {
				if !strings.HasPrefix(strings.TrimSpace(line), "--") {
					kept = append(kept, line)
				}
			}
			for _, stmt := range strings.Split(strings.Join(kept, "\n"), ";\n") {
				stmt = strings.TrimSpace(stmt)
				if strings.HasPrefix(stmt, "INSERT") || strings.HasPrefix(stmt, "UPDATE") {
					must(strings.ReplaceAll(stmt, "{{schema}}", schema))
				}
			}

			teams, err := svc.Teams(ctx, res.Tenant.ID)
			if err != nil {
				t.Fatal(err)
			}
			if len(teams) != 2 || !strings.EqualFold(teams[0].Name, "billing") || teams[1].Name != "vip" {
				t.Fatalf("teams after the migration: %+v", teams)
			}
			var userTeams string
			db.Raw(`SELECT teams FROM `+db.Table("users")+` WHERE id = ?`, res.User.ID).Scan(&userTeams)
			var ids []string
			_ = json.Unmarshal([]byte(userTeams), &ids)
			if len(ids) != 2 || !slices.Contains(ids, teams[0].ID) || !slices.Contains(ids, teams[1].ID) {
				t.Errorf("the owner's teams: %s, want the ids of %+v", userTeams, teams)
			}
			var convTeam string
			db.Raw(`SELECT team FROM ` + db.Table("conversations") + ` WHERE id = 'c1'`).Scan(&convTeam)
			if convTeam != teams[0].ID {
				t.Errorf("the conversation's team: %q, want billing's id %q", convTeam, teams[0].ID)
			}
			if !slices.Contains(teams[0].Members, res.User.ID) {
				t.Errorf("billing's members: %v", teams[0].Members)
			}
		})
	}
}
