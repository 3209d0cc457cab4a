package tenants_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"testing"

	"gorm.io/gorm"

	"kefu/tenants"
)

// openFDs counts this process's open file descriptors.
func openFDs(t *testing.T) int {
	t.Helper()
	ents, err := os.ReadDir("/proc/self/fd")
	if err != nil {
		t.Skipf("no /proc/self/fd: %v", err)
	}
	return len(ents)
}

// A node keeps at most TenantHandles tenant files open: touching many more
// tenants leaves the descriptors bounded, the evicted tenants keep working
// (through new handles and through handles kept from before), and a file
// is never closed under a transaction or rows still being read. Not
// parallel: it counts the whole process's descriptors.
func TestTenantFilesAreBounded(t *testing.T) {
	const limit, many = 4, 40
	ctx := context.Background()
	store, err := tenants.Open(ctx, tenants.Options{DataDir: t.TempDir(), TenantHandles: limit})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { store.Close() })
	before := openFDs(t)

	ids := make([]string, many)
	kept := make([]*tenants.DB, many) // handles held across evictions, as a request does
	for i := range ids {
		ids[i] = tenants.NewID()
		h, err := store.Provision(ctx, ids[i])
		if err != nil {
			t.Fatal(err)
		}
		if err := h.Exec(`CREATE TABLE notes (body text)`).Error; err != nil {
			t.Fatal(err)
		}
		if err := h.Exec(`INSERT INTO notes VALUES (?)`, fmt.Sprint("note ", i)).Error; err != nil {
			t.Fatal(err)
		}
		kept[i] = h
	}
	// Three descriptors per open file (db, -wal, -shm); a little slack for
	// what the runtime and the test opened meanwhile.
	if grown := openFDs(t) - before; grown > 3*limit+4 {
		t.Fatalf("%d tenants with a cap of %d left %d more descriptors open", many, limit, grown)
	}

	t.Run("evicted tenants keep working, through old and new handles", func(t *testing.T) {
		for i, id := range ids {
			var body string
			if err := kept[i].Raw(`SELECT body FROM notes`).Scan(&body).Error; err != nil || body != fmt.Sprint("note ", i) {
				t.Fatalf("tenant %d through its old handle: %q %v", i, body, err)
			}
			h, err := store.Tenant(id)
			if err != nil {
				t.Fatal(err)
			}
			if err := h.Exec(`INSERT INTO notes VALUES ('again')`).Error; err != nil {
				t.Fatalf("tenant %d through a new handle: %v", i, err)
			}
		}
		if grown := openFDs(t) - before; grown > 3*limit+4 {
			t.Fatalf("after reopening every tenant: %d more descriptors", grown)
		}
	})

	t.Run("a transaction holds its file while other tenants evict it", func(t *testing.T) {
		err := kept[0].Transaction(func(tx *gorm.DB) error {
			if err := tx.Exec(`INSERT INTO notes VALUES ('in tx 1')`).Error; err != nil {
				return err
			}
			for _, h := range kept[1 : 2*limit] {
				if err := h.Exec(`SELECT 1`).Error; err != nil {
					return err
				}
			}
			return tx.Exec(`INSERT INTO notes VALUES ('in tx 2')`).Error
		})
		if err != nil {
			t.Fatalf("transaction across an eviction: %v", err)
		}
		var n int
		if err := kept[0].Raw(`SELECT count(*) FROM notes WHERE body LIKE 'in tx%'`).Scan(&n).Error; err != nil || n != 2 {
			t.Fatalf("committed rows: %d %v", n, err)
		}
	})

	t.Run("rows being read survive an eviction", func(t *testing.T) {
		rows, err := kept[1].Raw(`SELECT body FROM notes`).Rows()
		if err != nil {
			t.Fatal(err)
		}
		defer rows.Close()
		for _, h := range kept[2 : 2*limit+2] {
			if err := h.Exec(`SELECT 1`).Error; err != nil {
				t.Fatal(err)
			}
		}
		n := 0
		for rows.Next() {
			n++
		}
		if err := rows.Err(); err != nil || n == 0 {
			t.Fatalf("rows after their file was evicted: %d %v", n, err)
		}
	})

	t.Run("a closed store refuses work through handles it gave out", func(t *testing.T) {
		store.Close()
		if err := kept[2].Exec(`INSERT INTO notes VALUES ('late')`).Error; !errors.Is(err, tenants.ErrClosed) {
			t.Fatalf("exec on a closed store: %v", err)
		}
		if err := kept[2].Transaction(func(*gorm.DB) error { return nil }); !errors.Is(err, tenants.ErrClosed) {
			t.Fatalf("transaction on a closed store: %v", err)
		}
		var s string
		if err := kept[3].Raw(`SELECT body FROM notes`).Row().Scan(&s); err == nil {
			t.Fatal("a row read from a closed store")
		}
		if grown := openFDs(t) - before; grown > 2 {
			t.Fatalf("a closed store left %d descriptors open", grown)
		}
	})
}
