package ws

import (
	"context"
	"math/rand/v2"
	"time"

	"github.com/coder/websocket"

	"kefu"
	"kefu/chat"
	"kefu/tenants"
)

// Closing sockets whose rights changed. A socket keeps the principal it
// authenticated with, so when a session ends, a user is deactivated or a
// role changes, the socket must go: a revoke event on the bus closes the
// matching sockets on every node at once, and each user socket re-checks
// its session every RevalidateInterval, so a lost event cannot keep access
// alive for long.

// StatusRoleChanged closes a socket whose user's role changed. The client
// should reconnect at once: its new socket carries the new role.
const StatusRoleChanged websocket.StatusCode = 4001

// revokeTargets picks the sockets of ti a revoke event closes.
func revokeTargets(ti *tenantIndex, e chat.Event) []*conn {
	var out []*conn
	for c := range ti.users[e.UserID] {
		sid := c.p.SessionID()
		switch {
		case e.Session != "" && sid != e.Session:
		case e.Keep != "" && sid == e.Keep:
		case e.Reason == chat.RevokeRole && c.p.Role == e.Role:
		default:
			out = append(out, c)
		}
	}
	return out
}

// revoke closes the socket for the reason a revoke event (or a failed
// re-check) gives.
func (c *conn) revoke(reason string) {
	if reason == chat.RevokeRole {
		c.close(StatusRoleChanged, "role changed; reconnect")
		return
	}
	msg, why := "your session has ended; sign in again", chat.RevokeSignedOut
	if reason == chat.RevokeDeactivated {
		msg, why = "your account has been deactivated", chat.RevokeDeactivated
	}
	c.closeWith(websocket.StatusPolicyViolation, "unauthenticated", encode(errorFrame{Type: "error", Code: kefu.EAuth, Message: msg, Reason: why}))
}

// startRevalidation re-checks a user socket's session and role every
// interval (first after a random part of it, so sockets opened together do
// not all check at once), from a timer: no goroutine waits for it.
func (c *conn) startRevalidation(interval time.Duration) {
	if c.p.Kind == tenants.KindVisitor || interval <= 0 {
		return
	}
	first := interval/2 + rand.N(interval/2+1)
	c.revalidateTimer = time.AfterFunc(first, func() {
		if c.isDone() {
			return
		}
		if c.revalidate() {
			c.revalidateTimer.Reset(interval)
		}
	})
}

// revalidate checks the socket's principal still holds and closes the
// socket if not; it reports whether the socket stays. A database fault
// keeps the socket (the next check decides).
func (c *conn) revalidate() bool {
	ctx, cancel := context.WithTimeout(c.ctx, 5*time.Second)
	defer cancel()
	var (
		now tenants.Principal
		err error
	)
	shallow(func() { now, err = c.srv.tenants.Revalidate(ctx, c.p) })
	switch {
	case kefu.Code(err) == kefu.EAuth:
		c.revoke(chat.RevokeSignedOut)
		return false
	case err != nil:
		if c.ctx.Err() == nil {
			c.logger().Warn("ws revalidate", "err", err)
		}
		return true
	case now.Role != c.p.Role:
		c.revoke(chat.RevokeRole)
		return false
	}
	return true
}
