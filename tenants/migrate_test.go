package tenants_test

import (
	"bytes"
	"context"
	"strings"
	"testing"
	"time"

	"kefu/migrations"
	"kefu/tenants"
	"kefu/tenants/tenantstest"
)

// TestUploadChunksMigration: files stored whole before 0005 move into
// chunks, byte for byte, and files already sent in a message are recorded
// as attached (so the sweeper leaves them alone).
func TestUploadChunksMigration(t *testing.T) {
	for _, b := range tenantstest.Backends(t) {
		t.Run(b.Name, func(t *testing.T) {
			ctx := context.Background()
			id := tenants.NewID()
			t.Cleanup(func() { _ = b.Store.Deprovision(ctx, id) })
			db, err := b.Store.Tenant(id)
			if err != nil {
				t.Fatal(err)
			}
			exec := func(q string, args ...any) {
				t.Helper()
				if err := db.Exec(q, args...).Error; err != nil {
					t.Fatalf("%s: %v", q[:min(len(q), 60)], err)
				}
			}
			ts := "datetime"
			if db.Dialect == tenants.Postgres {
				ts = "timestamptz"
				exec(`CREATE SCHEMA "` + tenants.SchemaName(id) + `"`)
			}
			exec(`CREATE TABLE ` + db.Table("schema_migrations") + ` (version integer PRIMARY KEY, name text NOT NULL, applied_at ` + ts + ` NOT NULL)`)
			migs, err := migrations.Load(migrations.Tenant, db.Dialect)
			if err != nil {
				t.Fatal(err)
			}
			now := time.Now().UTC()
			for _, m := range migs {
				if m.Version < 5 {
					exec(strings.ReplaceAll(m.SQL, "{{schema}}", `"`+tenants.SchemaName(id)+`"`))
					exec(`INSERT INTO `+db.Table("schema_migrations")+` (version, name, applied_at) VALUES (?, ?, ?)`, m.Version, m.Name, now)
				}
			}
			blob := bytes.Repeat([]byte("0123456789abcdef"), 600<<10/16+3) // three chunks, the last one short
			exec(`INSERT INTO `+db.Table("visitors")+` (id, created_at, last_seen_at) VALUES ('v1', ?, ?)`, now, now)
			exec(`INSERT INTO `+db.Table("conversations")+` (id, visitor_id, status, created_at, updated_at) VALUES ('c1', 'v1', 'bot', ?, ?)`, now, now)
			exec(`INSERT INTO `+db.Table("messages")+` (id, conversation_id, seq, author_type, body, attachments, created_at) VALUES ('m1', 'c1', 1, 'visitor', '', ?, ?)`,
				`[{"id":"u1","name":"a.bin","content_type":"application/octet-stream","size":614448,"url":"/api/v1/files/x/u1?sig=old"}]`, now)
			for _, u := range []string{"u1", "u2"} {
				exec(`INSERT INTO `+db.Table("uploads")+` (id, name, content_type, size, data, uploader_type, uploader_id, created_at) VALUES (?, 'a.bin', 'application/octet-stream', ?, ?, 'visitor', 'v1', ?)`,
					u, len(blob), blob, now)
			}

			if _, err := b.Store.Provision(ctx, id); err != nil {
				t.Fatal(err)
			}
			var chunks [][]byte
			if err := db.Raw(`SELECT data FROM ` + db.Table("upload_chunks") + ` WHERE upload_id = 'u1' ORDER BY n`).Scan(&chunks).Error; err != nil {
				t.Fatal(err)
			}
			if len(chunks) != 3 || len(chunks[0]) != 256<<10 || !bytes.Equal(bytes.Join(chunks, nil), blob) {
				t.Fatalf("%d chunks, joined equal: %v", len(chunks), bytes.Equal(bytes.Join(chunks, nil), blob))
			}
			type att struct {
				ID             string
				MessageID      *string
				ConversationID *string
			}
			var rows []att
			if err := db.Raw(`SELECT id, message_id, conversation_id FROM ` + db.Table("uploads") + ` ORDER BY id`).Scan(&rows).Error; err != nil {
				t.Fatal(err)
			}
			if len(rows) != 2 || rows[0].MessageID == nil || *rows[0].MessageID != "m1" || *rows[0].ConversationID != "c1" || rows[1].MessageID != nil {
				t.Fatalf("attached: %+v", rows)
			}
		})
	}
}
