package main

import (
	"context"
	"fmt"
	"os"
	"strconv"
	"strings"
	"time"
)

func mkdir(p string) error { return os.MkdirAll(p, 0o755) }

// check verifies, after a fault, what the guarantees promise:
//   - every acked message is stored exactly once, with the seq its ack
//     gave, and the conversation's seqs run 1, 2, 3 … without gaps;
//   - every acked message reached an agent of the tenant, each seq once
//     and in order;
//   - no conversation is stuck: each is assigned to an agent who is online,
//     and a conversation opened now is assigned at once.
//
// It adds what it finds to res.
func (r *runner) check(ctx context.Context, res *row) {
	acked := r.ackedNow()
	res.acked += acked - r.ackedBefore
	r.ackedBefore = acked
	for _, t := range r.tenants {
		for _, v := range t.visitors {
			snap := v.snapshot()
			var top int64
			for _, s := range snap {
				top = max(top, s)
			}
			lost, dup, ooo, err := r.checkStore(ctx, t, v, snap)
			if err != nil {
				res.problems = append(res.problems, err.Error())
				continue
			}
			res.lost += lost
			res.duplicated += dup
			res.outOfOrder += ooo
			if !r.waitDelivered(t, v.conv, top, 15*time.Second) {
				res.lost++
				res.problems = append(res.problems, fmt.Sprintf("tenant %s conversation %s: acked seq %d never reached an agent", t.name, v.conv, top))
			}
		}
		if err := r.checkNotStuck(ctx, t); err != nil {
			res.problems = append(res.problems, err.Error())
		}
	}
	dup, ooo := 0, 0
	for _, t := range r.tenants {
		for _, a := range t.agents {
			a.mu.Lock()
			dup += a.dup
			ooo += a.ooo
			res.problems = append(res.problems, a.samples...)
			a.samples = nil
			a.mu.Unlock()
		}
	}
	res.duplicated += dup - r.seenDup
	res.outOfOrder += ooo - r.seenOOO
	r.seenDup, r.seenOOO = dup, ooo
}

// checkStore reads the conversation back and compares it with the acks.
func (r *runner) checkStore(ctx context.Context, t *tenantLoad, v *visitor, acked map[string]int64) (lost, dup, ooo int, err error) {
	type msg struct {
		Seq      int64  `json:"seq"`
		ClientID string `json:"client_id"`
	}
	var all []msg
	after := int64(0)
	for {
		var page struct {
			Messages []msg `json:"messages"`
		}
		path := "/api/v1/conversations/" + v.conv + "/messages?limit=500&after_seq=" + strconv.FormatInt(after, 10)
		if err := r.cl.call(ctx, "GET", path, t.owner, nil, &page); err != nil {
			return 0, 0, 0, fmt.Errorf("tenant %s: reading conversation %s: %w", t.name, v.conv, err)
		}
		all = append(all, page.Messages...)
		if len(page.Messages) < 500 {
			break
		}
		after = page.Messages[len(page.Messages)-1].Seq
	}
	stored := map[string][]int64{}
	for i, m := range all {
		if m.Seq != int64(i+1) {
			ooo++
		}
		if m.ClientID != "" {
			stored[m.ClientID] = append(stored[m.ClientID], m.Seq)
		}
	}
	for id, seq := range acked {
		if base, ok := strings.CutSuffix(id, "#"); ok {
			dup++ // acked twice with different seqs
			id = base
		}
		got := stored[id]
		switch {
		case len(got) == 0:
			lost++
		case len(got) > 1:
			dup++
		case got[0] != seq:
			ooo++
		}
	}
	// A message stored twice under one client id is a duplicate even if
	// its ack never came.
	for id, seqs := range stored {
		if _, ok := acked[id]; !ok && len(seqs) > 1 {
			dup++
		}
	}
	return lost, dup, ooo, nil
}

// waitDelivered: some agent of the tenant has received seq top of conv.
func (r *runner) waitDelivered(t *tenantLoad, conv string, top int64, within time.Duration) bool {
	deadline := time.Now().Add(within)
	for {
		for _, a := range t.agents {
			a.mu.Lock()
			got := a.last[conv]
			a.mu.Unlock()
			if got >= top {
				return true
			}
		}
		if time.Now().After(deadline) {
			return false
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// checkNotStuck: every conversation of the tenant is assigned to an online
// agent, and a new one is assigned within a few seconds. Agents that a
// rebalance has just moved are reconnecting, and show offline meanwhile:
// a conversation is stuck if it is not with an online agent once they have
// had ten seconds (and what the machine stalled) to come back.
func (r *runner) checkNotStuck(ctx context.Context, t *tenantLoad) error {
	from := time.Now()
	var online map[string]bool
	for {
		var err error
		online, err = r.stuckNow(ctx, t)
		if err == nil {
			break
		}
		if time.Now().After(from.Add(10*time.Second+r.stall.max())) || ctx.Err() != nil {
			return err
		}
		time.Sleep(100 * time.Millisecond)
	}
	// A conversation opened now is routed at once.
	var ws struct {
		Token string `json:"visitor_token"`
	}
	if err := r.cl.call(ctx, "POST", "/api/v1/widget/sessions", "", map[string]any{"widget_key": t.key}, &ws); err != nil {
		return err
	}
	probe := &visitor{t: t, idx: 9999, token: ws.Token, acked: map[string]int64{}}
	if err := probe.open(ctx, r.cl); err != nil {
		return fmt.Errorf("tenant %s: opening a conversation: %w", t.name, err)
	}
	opened := time.Now()
	for {
		var c struct {
			Status     string `json:"status"`
			AssigneeID string `json:"assignee_id"`
		}
		if err := r.cl.call(ctx, "GET", "/api/v1/conversations/"+probe.conv, t.owner, nil, &c); err != nil {
			return err
		}
		if c.Status == "assigned" && online[c.AssigneeID] {
			return nil
		}
		if time.Now().After(opened.Add(5*time.Second + r.stall.max())) {
			return fmt.Errorf("tenant %s: a new conversation is still %s after %s (machine stalled up to %s)", t.name, c.Status, time.Since(opened).Round(time.Millisecond), r.stall.max().Round(time.Millisecond))
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// stuckNow reads the tenant's agents and conversations once: an error
// names a conversation not with an online agent; else it returns who is
// online.
func (r *runner) stuckNow(ctx context.Context, t *tenantLoad) (map[string]bool, error) {
	online := map[string]bool{}
	var list struct {
		Agents []struct{ ID, Status string } `json:"agents"`
	}
	if err := r.cl.call(ctx, "GET", "/api/v1/agents", t.owner, nil, &list); err != nil {
		return nil, err
	}
	for _, a := range list.Agents {
		online[a.ID] = a.Status == "online"
	}
	var convs struct {
		Conversations []struct {
			ID         string `json:"id"`
			Status     string `json:"status"`
			AssigneeID string `json:"assignee_id"`
		} `json:"conversations"`
	}
	if err := r.cl.call(ctx, "GET", "/api/v1/conversations?limit=200", t.owner, nil, &convs); err != nil {
		return nil, err
	}
	for _, c := range convs.Conversations {
		if c.Status != "assigned" || !online[c.AssigneeID] {
			return nil, fmt.Errorf("tenant %s: conversation %s is stuck: %s, assignee %q (online %v)", t.name, c.ID, c.Status, c.AssigneeID, online[c.AssigneeID])
		}
	}
	return online, nil
}
