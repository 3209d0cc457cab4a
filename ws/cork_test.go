package ws

import (
	"bytes"
	"net"
	"sync"
	"testing"
	"time"
)

// countingConn records each Write that reaches the network.
type countingConn struct {
	net.Conn
	mu     sync.Mutex
	writes [][]byte
}

func (c *countingConn) Write(p []byte) (int, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.writes = append(c.writes, append([]byte(nil), p...))
	return len(p), nil
}

func (c *countingConn) SetWriteDeadline(time.Time) error { return nil }
func (c *countingConn) Close() error                     { return nil }

func (c *countingConn) got() [][]byte {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([][]byte(nil), c.writes...)
}

// TestCorkCollectsWrites: corked writes reach the network as one write at
// uncork, in order; uncorked writes go straight through; a large backlog is
// written before it grows past corkFlushAt; Close sends what is left.
func TestCorkCollectsWrites(t *testing.T) {
	nc := &countingConn{}
	c := &corkConn{Conn: nc, timeout: time.Second}

	if _, err := c.Write([]byte("a")); err != nil {
		t.Fatal(err)
	}
	if n := len(nc.got()); n != 1 {
		t.Fatalf("uncorked: %d writes, want 1", n)
	}

	c.cork()
	for _, s := range []string{"b", "c", "d"} {
		if _, err := c.Write([]byte(s)); err != nil {
			t.Fatal(err)
		}
	}
	if n := len(nc.got()); n != 1 {
		t.Fatalf("corked writes reached the network: %d writes", n)
	}
	if err := c.uncork(); err != nil {
		t.Fatal(err)
	}
	w := nc.got()
	if len(w) != 2 || string(w[1]) != "bcd" {
		t.Fatalf("after uncork: %q, want [a bcd]", w)
	}

	// A backlog larger than corkFlushAt leaves before uncork.
	c.cork()
	frame := bytes.Repeat([]byte("x"), 16<<10)
	for range 5 {
		if _, err := c.Write(frame); err != nil {
			t.Fatal(err)
		}
	}
	w = nc.got()
	if len(w) != 3 || len(w[2]) != 4*len(frame) {
		t.Fatalf("backlog: %d writes (last %d bytes), want one of %d bytes", len(w), len(w[len(w)-1]), 4*len(frame))
	}
	if err := c.Close(); err != nil { // sends the fifth frame
		t.Fatal(err)
	}
	w = nc.got()
	if len(w) != 4 || len(w[3]) != len(frame) {
		t.Fatalf("close: %d writes, want the rest sent", len(w))
	}
}

// failingConn fails every write.
type failingConn struct{ countingConn }

func (c *failingConn) Write([]byte) (int, error) { return 0, net.ErrClosed }

// TestCorkRemembersAFailedFlush: once a flush fails, every later write
// fails the same way instead of collecting into a dead socket.
func TestCorkRemembersAFailedFlush(t *testing.T) {
	c := &corkConn{Conn: &failingConn{}, timeout: time.Second}
	c.cork()
	if _, err := c.Write([]byte("frame")); err != nil {
		t.Fatalf("corked write failed early: %v", err)
	}
	if err := c.uncork(); err == nil {
		t.Fatal("uncork onto a failing connection succeeded")
	}
	c.cork()
	if _, err := c.Write([]byte("more")); err == nil {
		t.Fatal("a write after a failed flush succeeded")
	}
}
