package chat

import (
	"context"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"kefu/routing"
	"kefu/tenants"
	"kefu/tenants/tenantstest"
)

// TestJobsAreClaimedOnce: two nodes claim the same due jobs at once; each
// job goes to one of them; a claimed job is nobody else's until its lease
// runs out (its node died), and then it is claimed again; planning a job
// again moves it, and finishing the old run does not delete the new plan.
func TestJobsAreClaimedOnce(t *testing.T) {
	for _, b := range tenantstest.Backends(t) {
		t.Run(b.Name, func(t *testing.T) {
			ctx := context.Background()
			ten := tenants.NewService(b.Store, tenants.Config{Secret: []byte("0123456789abcdef0123456789abcdef")})
			nodes := []*Service{NewService(Config{Tenants: ten, Bus: NewLocalBus()}), NewService(Config{Tenants: ten, Bus: NewLocalBus()})}
			for _, s := range nodes {
				t.Cleanup(func() { s.Close(context.Background()) })
			}
			res := signupFor(t, ten, "Jobs")
			tid := res.Tenant.ID
			const n = 60
			past := nodes[0].stamp().Add(-time.Second)
			for i := range n {
				if err := nodes[0].planJob(ctx, tid, "test.kind", fmt.Sprintf("s%02d", i), "", past); err != nil {
					t.Fatal(err)
				}
			}
			var mu sync.Mutex
			claimed := map[string]int{}
			var wg sync.WaitGroup
			for _, s := range nodes {
				for range 3 {
					wg.Add(1)
					go func() {
						defer wg.Done()
						for {
							rows, err := s.claimJobs(ctx)
							if err != nil {
								t.Error(err)
								return
							}
							if len(rows) == 0 {
								return
							}
							mu.Lock()
							for _, r := range rows {
								if r.TenantID == tid {
									claimed[r.Subject]++
								}
							}
							mu.Unlock()
						}
					}()
				}
			}
			wg.Wait()
			if len(claimed) != n {
				t.Fatalf("%d of %d jobs claimed", len(claimed), n)
			}
			for s, k := range claimed {
				if k != 1 {
					t.Fatalf("job %s claimed %d times", s, k)
				}
			}
			// Leased: nobody claims them again...
			if rows, _ := nodes[1].claimJobs(ctx); len(rows) != 0 {
				t.Fatalf("claimed again while leased: %d", len(rows))
			}
			// ...until the lease runs out (the node that had them died).
			p := nodes[0].platform()
			if err := p.Model(&jobRow{}).Where("tenant_id = ? AND subject = ?", tid, "s07").Update("lease_until", past).Error; err != nil {
				t.Fatal(err)
			}
			rows, err := nodes[1].claimJobs(ctx)
			if err != nil || len(rows) != 1 || rows[0].Subject != "s07" {
				t.Fatalf("an abandoned job was not claimed again: %+v %v", rows, err)
			}
			// Planned again while it ran: finishing the run keeps the new plan.
			if err := nodes[0].planJob(ctx, tid, "test.kind", "s07", "", past.Add(time.Hour)); err != nil {
				t.Fatal(err)
			}
			nodes[1].finishJob(ctx, rows[0])
			var left int64
			p.Model(&jobRow{}).Where("tenant_id = ? AND subject = ?", tid, "s07").Count(&left)
			if left != 1 {
				t.Fatal("finishing an old run deleted the job planned since")
			}
			for _, r := range []string{"s01", "s02"} {
				nodes[0].finishJob(ctx, jobRow{TenantID: tid, Kind: "test.kind", Subject: r, Token: "not-its-token"})
			}
			p.Model(&jobRow{}).Where("tenant_id = ? AND kind = ?", tid, "test.kind").Count(&left)
			if left != n {
				t.Fatalf("%d jobs left, want %d (finish needs the token of the run)", left, n)
			}
		})
	}
}

// TestRecoverQueuesOnlyStuckBotConversations: a conversation the flow
// answered and left with the bot (an end node) is left alone by the
// recovery sweep; one whose visitor's last message the flow never answered
// (its run died) is queued for a person.
func TestRecoverQueuesOnlyStuckBotConversations(t *testing.T) {
	for _, b := range tenantstest.Backends(t) {
		t.Run(b.Name, func(t *testing.T) {
			ctx := context.Background()
			s, ten := newNode(t, b.Store, Config{})
			res := signupFor(t, ten, "Recover")
			owner, _ := ten.Authenticate(ctx, res.Token)
			// A flow that answers and ends, as the runtime would run it.
			open := func() string {
				ws, _ := s.StartWidgetSession(ctx, res.Tenant.WidgetKey, "", VisitorInput{})
				vis, _ := ten.Authenticate(ctx, ws.VisitorToken)
				m, _, err := s.Send(ctx, vis, SendInput{Body: "hello"})
				if err != nil {
					t.Fatal(err)
				}
				decide(t, s, res.Tenant.ID, m.ConversationID, routing.Result{Action: routing.ActionEnd, Replies: []string{"The bot answers and is done."}})
				if ms, _ := s.Messages(ctx, owner, m.ConversationID, 0, 50); len(ms) < 2 {
					t.Fatalf("%d messages after the bot's answer", len(ms))
				}
				return m.ConversationID
			}
			done, stuck := open(), open()
			// The visitor writes again into stuck, and the run that should
			// answer dies before it decides anything: stored as Send stores
			// it, without the run.
			db, _ := s.db(res.Tenant.ID)
			var c conversationRow
			if err := db.Where("id = ?", stuck).Take(&c).Error; err != nil {
				t.Fatal(err)
			}
			if err := db.Exec(`UPDATE `+db.Table("conversations")+` SET last_seq = last_seq + 1 WHERE id = ?`, stuck).Error; err != nil {
				t.Fatal(err)
			}
			row := messageRow{ID: tenants.NewID(), ConversationID: stuck, Seq: c.LastSeq + 1, AuthorType: AuthorVisitor, AuthorID: c.VisitorID, Body: "anyone?", Attachments: "[]", CreatedAt: s.stamp()}
			if err := db.Create(&row).Error; err != nil {
				t.Fatal(err)
			}
			status := func(id string) string {
				var c conversationRow
				db.Where("id = ?", id).Take(&c)
				return c.Status
			}
			if n := s.Recover(ctx, time.Hour); n != 0 || status(stuck) != StatusBot {
				t.Fatalf("a message younger than StuckAfter was taken for stuck: %d moved, %s", n, status(stuck))
			}
			time.Sleep(20 * time.Millisecond)
			s.Recover(ctx, 10*time.Millisecond)
			if st := status(done); st != StatusBot {
				t.Fatalf("a conversation the flow had finished with was moved to %s", st)
			}
			if st := status(stuck); st != StatusQueued {
				t.Fatalf("a conversation left by a dead run is %s, want queued", st)
			}
			if n := s.Recover(ctx, 10*time.Millisecond); n != 0 {
				t.Fatalf("a second sweep moved %d more", n)
			}
		})
	}
}

// TestSnoozeWakesOnADurableJob: a snooze is a job due when it ends (moved
// with the snooze, gone when it is cleared); running the job wakes the
// conversation and announces it, once; a job that finds the snooze moved
// later plans it again; and the recovery pass at start plans a job for a
// snooze that has none (set before jobs existed, or whose planning failed).
func TestSnoozeWakesOnADurableJob(t *testing.T) {
	for _, b := range tenantstest.Backends(t) {
		t.Run(b.Name, func(t *testing.T) {
			ctx := context.Background()
			bus := NewLocalBus()
			s, ten := newNode(t, b.Store, Config{Bus: bus})
			res := signupFor(t, ten, "Snooze")
			tid := res.Tenant.ID
			owner, _ := ten.Authenticate(ctx, res.Token)
			ws, _ := s.StartWidgetSession(ctx, res.Tenant.WidgetKey, "", VisitorInput{})
			vis, _ := ten.Authenticate(ctx, ws.VisitorToken)
			m, _, err := s.Send(ctx, vis, SendInput{Body: "hello"})
			if err != nil {
				t.Fatal(err)
			}
			conv := m.ConversationID
			job := func() (jobRow, bool) {
				var rows []jobRow
				if err := s.platform().Where("tenant_id = ? AND kind = ? AND subject = ?", tid, jobSnoozeWake, conv).Find(&rows).Error; err != nil {
					t.Fatal(err)
				}
				if len(rows) == 0 {
					return jobRow{}, false
				}
				return rows[0], true
			}
			snooze := func(d time.Duration) time.Time {
				at := s.stamp().Add(d).Truncate(time.Microsecond)
				if _, err := s.Patch(ctx, owner, conv, PatchInput{SnoozedUntil: &at}); err != nil {
					t.Fatal(err)
				}
				return at
			}
			at := snooze(time.Hour)
			if j, ok := job(); !ok || !j.DueAt.Equal(at) {
				t.Fatalf("after snoozing until %v: job %+v (%v)", at, j, ok)
			}
			at = snooze(2 * time.Hour)
			if j, ok := job(); !ok || !j.DueAt.Equal(at) {
				t.Fatalf("after moving the snooze to %v: job %+v (%v)", at, j, ok)
			}
			if _, err := s.Patch(ctx, owner, conv, PatchInput{ClearSnooze: true}); err != nil {
				t.Fatal(err)
			}
			if j, ok := job(); ok {
				t.Fatalf("a cleared snooze left its job: %+v", j)
			}

			// The snooze ends: the job runs (here by hand, as a node that
			// claimed it would), the conversation wakes and is announced.
			db, _ := s.db(tid)
			snoozedUntil := func() *time.Time {
				var c conversationRow
				if err := db.Where("id = ?", conv).Take(&c).Error; err != nil {
					t.Fatal(err)
				}
				return c.SnoozedUntil
			}
			snooze(time.Hour)
			past := s.stamp().Add(-time.Second)
			if err := db.Exec(`UPDATE `+db.Table("conversations")+` SET snoozed_until = ? WHERE id = ?`, past, conv).Error; err != nil {
				t.Fatal(err)
			}
			events := make(chan Event, 16)
			unsub := bus.Subscribe(func(e Event) {
				if e.TenantID == tid && e.ConversationID == conv && e.Kind == EventConversation && e.Conversation.SnoozedUntil == nil {
					events <- e
				}
			})
			defer unsub()
			time.Sleep(100 * time.Millisecond) // the patches' own announcements
			for len(events) > 0 {
				<-events
			}
			j, _ := job()
			s.runJob(ctx, j)
			if u := snoozedUntil(); u != nil {
				t.Fatalf("the job ran and the conversation is still snoozed until %v", u)
			}
			if _, ok := job(); ok {
				t.Fatal("the job that ran is still planned")
			}
			select {
			case <-events:
			case <-time.After(5 * time.Second):
				t.Fatal("the wake was not announced")
			}
			s.runJob(ctx, j) // again: nothing to do, nothing announced
			select {
			case <-events:
				t.Fatal("a second run announced the wake again")
			case <-time.After(200 * time.Millisecond):
			}

			// A job that finds the snooze moved later plans it again.
			later := s.stamp().Add(3 * time.Hour).Truncate(time.Microsecond)
			if err := db.Exec(`UPDATE `+db.Table("conversations")+` SET snoozed_until = ? WHERE id = ?`, later, conv).Error; err != nil {
				t.Fatal(err)
			}
			s.runJob(ctx, j)
			if j, ok := job(); !ok || !j.DueAt.Equal(later) {
				t.Fatalf("a snooze moved later: job %+v (%v), want due %v", j, ok, later)
			}

			// A snooze with no job gets one from the recovery pass.
			if err := s.cancelJob(ctx, tid, jobSnoozeWake, conv); err != nil {
				t.Fatal(err)
			}
			s.Recover(ctx, time.Hour)
			j2, ok := job()
			if !ok || !j2.DueAt.Equal(later) {
				t.Fatalf("recovery did not plan the snooze's job: %+v (%v)", j2, ok)
			}
			s.Recover(ctx, time.Hour)
			if j3, _ := job(); j3.Token != j2.Token {
				t.Fatal("a second recovery pass planned the job again")
			}
		})
	}
}

// TestPeriodicRecoveryVisitsActiveTenants: a node writes a tenant's
// activity once per activityEvery however much happens; a periodic pass
// finishes what a dead flow run left in a tenant active lately and leaves
// a tenant quiet for longer than the window alone (the pass at start, and
// Recover, visit every tenant).
func TestPeriodicRecoveryVisitsActiveTenants(t *testing.T) {
	for _, b := range tenantstest.Backends(t) {
		t.Run(b.Name, func(t *testing.T) {
			ctx := context.Background()
			s, ten := newNode(t, b.Store, Config{})
			type workspace struct {
				id, conv string
				owner    tenants.Principal
			}
			// A visitor's message that no flow run answered (the service has
			// no runtime): what a node that died mid-run leaves.
			open := func(name string) workspace {
				res := signupFor(t, ten, name)
				owner, _ := ten.Authenticate(ctx, res.Token)
				ws, _ := s.StartWidgetSession(ctx, res.Tenant.WidgetKey, "", VisitorInput{})
				vis, _ := ten.Authenticate(ctx, ws.VisitorToken)
				var conv string
				for i := range 3 {
					m, _, err := s.Send(ctx, vis, SendInput{Body: fmt.Sprintf("hello %d", i)})
					if err != nil {
						t.Fatal(err)
					}
					conv = m.ConversationID
				}
				return workspace{res.Tenant.ID, conv, owner}
			}
			busy, quiet := open("Busy"), open("Quiet")
			s.bg.Wait() // the activity writes
			var rows []activityRow
			if err := s.platform().Where("tenant_id IN ?", []string{busy.id, quiet.id}).Find(&rows).Error; err != nil {
				t.Fatal(err)
			}
			if len(rows) != 2 {
				t.Fatalf("activity rows: %+v", rows)
			}
			// The quiet tenant's last activity is older than the window.
			window := s.recovery.activeWindow()
			old := s.stamp().Add(-window - time.Minute)
			if err := s.platform().Model(&activityRow{}).Where("tenant_id = ?", quiet.id).Update("active_at", old).Error; err != nil {
				t.Fatal(err)
			}
			// More happens in the busy tenant: within activityEvery, no write.
			s.markActive(busy.id)
			s.bg.Wait()
			var again activityRow
			s.platform().Where("tenant_id = ?", busy.id).Take(&again)
			if !again.ActiveAt.Equal(rows[0].ActiveAt) && !again.ActiveAt.Equal(rows[1].ActiveAt) {
				t.Fatalf("activity written again within %v: %v", activityEvery, again.ActiveAt)
			}
			ids, err := s.activeTenantIDs(ctx, s.stamp().Add(-window))
			if err != nil {
				t.Fatal(err)
			}
			if !slices.Contains(ids, busy.id) || slices.Contains(ids, quiet.id) {
				t.Fatalf("active tenants %v: want %s and not %s", ids, busy.id, quiet.id)
			}

			status := func(w workspace) string {
				c, err := s.Conversation(ctx, w.owner, w.conv)
				if err != nil {
					t.Fatal(err)
				}
				return c.Status
			}
			cutoff := s.stamp().Add(time.Second)
			if n := s.recoverActive(ctx, cutoff, s.stamp().Add(-window)); n != 1 {
				t.Fatalf("the periodic pass moved %d conversations, want 1", n)
			}
			if status(busy) != StatusQueued || status(quiet) != StatusBot {
				t.Fatalf("after the periodic pass: busy %s, quiet %s; want queued and bot", status(busy), status(quiet))
			}
			if n := s.recoverAll(ctx, cutoff, false); n != 1 || status(quiet) != StatusQueued {
				t.Fatalf("the full pass moved %d, quiet is %s", n, status(quiet))
			}
		})
	}
}

// TestRecoveryHandsOffOrphanedModelCalls: a model call whose node died
// after this node started (its lease ran out) is handed to a person by the
// next periodic pass; a call another live node keeps leased stays its own.
func TestRecoveryHandsOffOrphanedModelCalls(t *testing.T) {
	for _, b := range tenantstest.Backends(t) {
		t.Run(b.Name, func(t *testing.T) {
			ctx := context.Background()
			s, ten := newNode(t, b.Store, Config{})
			res := signupFor(t, ten, "Calls")
			tid := res.Tenant.ID
			db, _ := s.db(tid)
			call := func(owner string, lease time.Time) string {
				ws, _ := s.StartWidgetSession(ctx, res.Tenant.WidgetKey, "", VisitorInput{})
				vis, _ := ten.Authenticate(ctx, ws.VisitorToken)
				m, _, err := s.Send(ctx, vis, SendInput{Body: "a question for the model"})
				if err != nil {
					t.Fatal(err)
				}
				now := s.stamp()
				row := botCallRow{ID: tenants.NewID(), ConversationID: m.ConversationID, NodeID: "llm", Status: callPending, Owner: owner, LeaseUntil: lease.UTC(), CreatedAt: now, UpdatedAt: now}
				if err := db.Create(&row).Error; err != nil {
					t.Fatal(err)
				}
				return row.ID
			}
			dead := call("dead-node", s.stamp().Add(-time.Second))
			live := call("live-node", s.stamp().Add(time.Hour))
			s.bg.Wait()
			status := func(id string) string {
				var r botCallRow
				if err := db.Where("id = ?", id).Take(&r).Error; err != nil {
					t.Fatal(err)
				}
				return r.Status
			}
			s.recoverActive(ctx, s.stamp().Add(-time.Hour), s.stamp().Add(-s.recovery.activeWindow()))
			if got := status(dead); got != callHandoff {
				t.Fatalf("the dead node's call is %s after a periodic pass, want %s", got, callHandoff)
			}
			if got := status(live); got != callPending {
				t.Fatalf("a live node's call is %s, want %s", got, callPending)
			}
		})
	}
}
