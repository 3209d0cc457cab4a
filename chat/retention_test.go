package chat_test

import (
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"gorm.io/driver/postgres"
	"gorm.io/gorm"

	"kefu/chat"
	"kefu/flowrun"
	"kefu/tenants"
	"kefu/tenants/tenantstest"
)

// idAt is a UUIDv7 made at t, as tenants.NewID would have made it then.
func idAt(t time.Time) string {
	ms := uint64(t.UnixMilli())
	return fmt.Sprintf("%08x-%04x-7%03x-8%03x-%012x", ms>>16, ms&0xffff, rand.IntN(0x1000), rand.IntN(0x1000), rand.Int64N(1<<48))
}

// TestRetention: a tenant keeping two months loses older messages with
// their files and search entries, keeps the rest, and a tenant keeping
// everything loses nothing. On PostgreSQL whole months go (partitions
// dropped) and the job makes the coming months' partitions ahead, one node
// at a time.
func TestRetention(t *testing.T) {
	for _, be := range tenantstest.Backends(t) {
		t.Run(be.Name, func(t *testing.T) {
			ctx := context.Background()
			var now atomic.Pointer[time.Time]
			today := time.Now().UTC()
			now.Store(&today)
			ten := tenants.NewService(be.Store, tenants.Config{Secret: []byte("0123456789abcdef0123456789abcdef")})
			svc := chat.NewService(chat.Config{Tenants: ten, Bus: chat.NewLocalBus(), Now: func() time.Time { return *now.Load() }})
			flowrun.New(svc, flowrun.Config{})
			t.Cleanup(func() { svc.Close(ctx) })
			signup := func(name string) (tenants.Tenant, *tenants.DB, tenants.Principal) {
				res, err := ten.Signup(ctx, tenants.SignupInput{Company: name + " " + tenants.NewID()[24:], Email: "o@example.com", Password: "password1", Name: "O"})
				if err != nil {
					t.Fatal(err)
				}
				db, _ := ten.DB(res.Tenant.ID)
				owner, _ := ten.Authenticate(ctx, res.Token)
				return res.Tenant, db, owner
			}
			pg := be.Name == "postgres"
			months := func(db *tenants.DB) []string {
				var names []string
				db.Raw(`SELECT c.relname FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid WHERE i.inhparent = ?::regclass ORDER BY 1`, db.Table("messages")).Scan(&names)
				return names
			}
			monthName := func(at time.Time) string { return "messages_" + at.Format("200601") }
			seed := func(tn tenants.Tenant, db *tenants.DB) {
				t.Helper()
				if pg {
					if err := db.Exec(`SELECT `+db.Table("create_message_partitions")+`(?, ?)`, today.AddDate(0, -6, 0), today).Error; err != nil {
						t.Fatal(err)
					}
				}
				ws, err := svc.StartWidgetSession(ctx, tn.WidgetKey, "", chat.VisitorInput{})
				if err != nil {
					t.Fatal(err)
				}
				v, _ := ten.Authenticate(ctx, ws.VisitorToken)
				m, _, err := svc.Send(ctx, v, chat.SendInput{Body: "今天的消息 today"})
				if err != nil {
					t.Fatal(err)
				}
				for k := 1; k <= 5; k++ {
					at := time.Date(today.Year(), today.Month()-time.Month(k), 10, 12, 0, 0, 0, time.UTC)
					id := idAt(at)
					if k == 5 {
						id = fmt.Sprintf("seeded-%d", k) // the default partition on PostgreSQL
					}
					body := fmt.Sprintf("旧消息 old message %d", k)
					atts := "[]"
					if k == 4 {
						atts = `[{"id":"up-old"}]`
						if err := db.Exec(`INSERT INTO `+db.Table("uploads")+` (id, name, content_type, size, uploader_type, uploader_id, created_at, complete, message_id, conversation_id) VALUES ('up-old', 'a.txt', 'text/plain', 1, 'visitor', ?, ?, true, ?, ?)`,
							v.ID, at, id, m.ConversationID).Error; err != nil {
							t.Fatal(err)
						}
						if err := db.Exec(`INSERT INTO `+db.Table("upload_chunks")+` (upload_id, n, data) VALUES ('up-old', 0, ?)`, []byte("x")).Error; err != nil {
							t.Fatal(err)
						}
					}
					if err := db.Exec(`INSERT INTO `+db.Table("messages")+` (id, conversation_id, seq, author_type, author_id, body, private, attachments, created_at) VALUES (?, ?, ?, 'visitor', ?, ?, false, ?, ?)`,
						id, m.ConversationID, 100+k, v.ID, body, atts, at).Error; err != nil {
						t.Fatal(err)
					}
				}
				if _, err := svc.IndexSearch(ctx, tn.ID); err != nil {
					t.Fatal(err)
				}
			}
			count := func(db *tenants.DB, q string, args ...any) int64 {
				var n int64
				if err := db.Raw(q, args...).Scan(&n).Error; err != nil {
					t.Fatal(err)
				}
				return n
			}
			found := func(owner tenants.Principal, q string) int {
				hits, _, err := svc.Search(ctx, owner, chat.SearchInput{Q: q})
				if err != nil {
					t.Fatal(err)
				}
				return len(hits)
			}

			keep, keepDB, keepOwner := signup("Keeps everything")
			trim, trimDB, trimOwner := signup("Keeps two months")
			if pg {
				got := months(trimDB)
				for k := 0; k <= chat.PartitionsAhead; k++ {
					if want := monthName(today.AddDate(0, k, 0)); !strings.Contains(strings.Join(got, ","), want) {
						t.Errorf("a new tenant's partitions %v lack %s", got, want)
					}
				}
			}
			seed(keep, keepDB)
			seed(trim, trimDB)
			two := 2
			if _, err := ten.UpdateTenant(ctx, trim.ID, tenants.TenantUpdate{RetentionMonths: &two}); err != nil {
				t.Fatal(err)
			}
			bad := -1
			if _, err := ten.UpdateTenant(ctx, trim.ID, tenants.TenantUpdate{RetentionMonths: &bad}); err == nil {
				t.Error("retention_months -1 accepted")
			}
			if n := found(trimOwner, "old message"); n != 5 {
				t.Fatalf("before retention, search finds %d old messages", n)
			}

			if pg {
				// Another node holds the lock: this one skips.
				sqlDB, err := gorm.Open(postgres.Open(os.Getenv("KEFU_TEST_DATABASE_URL")), &gorm.Config{})
				if err != nil {
					t.Fatal(err)
				}
				raw, _ := sqlDB.DB()
				defer raw.Close()
				conn, err := raw.Conn(ctx)
				if err != nil {
					t.Fatal(err)
				}
				if _, err := conn.ExecContext(ctx, "SELECT pg_advisory_lock($1)", int64(0x6b6566751005)); err != nil {
					t.Fatal(err)
				}
				rep, err := svc.Maintain(ctx)
				if err != nil || !rep.Skipped {
					t.Errorf("with the lock held elsewhere: %+v %v", rep, err)
				}
				_, _ = conn.ExecContext(ctx, "SELECT pg_advisory_unlock($1)", int64(0x6b6566751005))
				conn.Close()
			}

			rep, err := svc.Maintain(ctx)
			if err != nil || rep.Skipped {
				t.Fatalf("maintain: %+v %v", rep, err)
			}
			// Two months kept: messages of months 1 and 2 back stay, 3-5 go.
			if n := count(trimDB, `SELECT count(*) FROM `+trimDB.Table("messages")+` WHERE body LIKE '旧消息%'`); n != 2 {
				t.Errorf("trimmed tenant keeps %d old messages, want 2", n)
			}
			if n := count(trimDB, `SELECT count(*) FROM `+trimDB.Table("messages")+` WHERE body LIKE '今天%'`); n != 1 {
				t.Errorf("today's message: %d", n)
			}
			if n := count(trimDB, `SELECT count(*) FROM `+trimDB.Table("uploads")+` WHERE id = 'up-old'`); n != 0 {
				t.Errorf("the old file is still there")
			}
			if n := count(trimDB, `SELECT count(*) FROM `+trimDB.Table("upload_chunks")+` WHERE upload_id = 'up-old'`); n != 0 {
				t.Errorf("the old file's chunks are still there")
			}
			if n := found(trimOwner, "old message"); n != 2 {
				t.Errorf("after retention, search finds %d old messages, want 2", n)
			}
			if n := found(trimOwner, "旧消息"); n != 2 {
				t.Errorf("after retention, search (zh) finds %d old messages, want 2", n)
			}
			if n := count(keepDB, `SELECT count(*) FROM `+keepDB.Table("messages")+` WHERE body LIKE '旧消息%'`); n != 5 {
				t.Errorf("a tenant keeping everything has %d old messages, want 5", n)
			}
			if n := found(keepOwner, "old message"); n != 5 {
				t.Errorf("a tenant keeping everything finds %d", n)
			}
			if pg {
				if n := count(trimDB, `SELECT count(*) FROM `+trimDB.Table("message_search")+` WHERE body LIKE '旧消息%'`); n != 2 {
					t.Errorf("message_search keeps %d old entries, want 2", n)
				}
				got := strings.Join(months(trimDB), ",")
				for k := 3; k <= 6; k++ {
					if strings.Contains(got, monthName(today.AddDate(0, -k, 0))) {
						t.Errorf("month -%d still a partition: %s", k, got)
					}
				}
				if !strings.Contains(got, monthName(today.AddDate(0, -2, 0))) {
					t.Errorf("month -2 dropped: %s", got)
				}
				if rep.PartitionsDropped < 3 {
					t.Errorf("dropped %d partitions", rep.PartitionsDropped)
				}
				// Three months on, the job has made the months ahead again.
				later := today.AddDate(0, 3, 0)
				now.Store(&later)
				rep, err := svc.Maintain(ctx)
				if err != nil || rep.PartitionsMade < 2 {
					t.Errorf("three months later: %+v %v", rep, err)
				}
				if got := strings.Join(months(keepDB), ","); !strings.Contains(got, monthName(later.AddDate(0, chat.PartitionsAhead, 0))) {
					t.Errorf("partitions ahead not made: %s", got)
				}
			} else if rep.MessagesDeleted != 3 {
				t.Errorf("deleted %d messages, want 3", rep.MessagesDeleted)
			}
		})
	}
}

// TestSearchKeepsNotesFromVisitors: a private note is found by the people
// and keys who may read the conversation's notes and never by its visitor,
// on both backends, in Chinese and English; the visitor finds their own
// public messages.
func TestSearchKeepsNotesFromVisitors(t *testing.T) {
	for _, be := range tenantstest.Backends(t) {
		t.Run(be.Name, func(t *testing.T) {
			ctx := context.Background()
			f := newFixture(t, be.Store)
			conv := f.open(t)
			if _, _, err := f.chat.Send(ctx, f.visitor, chat.SendInput{ConversationID: conv, ClientID: "q", Body: "茶壶的盖子坏了 teapot lid"}); err != nil {
				t.Fatal(err)
			}
			if _, _, err := f.chat.Send(ctx, f.owner, chat.SendInput{ConversationID: conv, Body: "内部：茶壶的退款已批准 teapot refund approved", Private: true}); err != nil {
				t.Fatal(err)
			}
			for _, q := range []string{"茶壶的", "teapot"} {
				for who, p := range map[string]tenants.Principal{"owner": f.owner, "api key": f.apiKey} {
					hits, _, err := f.chat.Search(ctx, p, chat.SearchInput{Q: q})
					if err != nil || len(hits) != 2 {
						t.Errorf("%s searching %q: %d hits, %v", who, q, len(hits), err)
					}
				}
				hits, _, err := f.chat.Search(ctx, f.visitor, chat.SearchInput{Q: q})
				if err != nil {
					t.Fatal(err)
				}
				for _, h := range hits {
					if h.Message.Private {
						t.Errorf("the visitor finds the private note with %q", q)
					}
				}
				if len(hits) != 1 {
					t.Errorf("the visitor searching %q: %d hits", q, len(hits))
				}
			}
		})
	}
}
