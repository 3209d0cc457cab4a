package ws

import (
	"bufio"
	"net"
	"net/http"
	"sync"
	"time"
)

// Corking: a socket's writer often has several frames waiting — an agent
// following a hundred conversations, a catch-up, an ack and a typing frame.
// Written one by one, each frame costs a write system call on this side and a
// read on the peer's. While the writer works through its queue the socket is
// corked: frames collect in memory, and one write sends them all when the
// queue is empty (or the buffer is large). An idle socket holds no buffer.

// corkFlushAt is how much a corked socket collects before it writes anyway.
const corkFlushAt = 64 << 10

var corkBufs = sync.Pool{New: func() any { b := make([]byte, 0, 8<<10); return &b }}

// corkConn is the hijacked connection under a WebSocket. Writes go straight
// through unless the socket is corked; then they are kept until uncork.
type corkConn struct {
	net.Conn
	timeout time.Duration // for the write that empties the buffer

	mu     sync.Mutex
	corked bool
	buf    *[]byte
	err    error // a failed flush: every later write fails the same way
}

func (c *corkConn) Write(p []byte) (int, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.err != nil {
		return 0, c.err
	}
	if !c.corked {
		return c.Conn.Write(p)
	}
	if c.buf == nil {
		c.buf = corkBufs.Get().(*[]byte)
	}
	*c.buf = append(*c.buf, p...)
	if len(*c.buf) >= corkFlushAt {
		if err := c.flushLocked(); err != nil {
			return 0, err
		}
	}
	return len(p), nil
}

// cork starts collecting writes.
func (c *corkConn) cork() {
	c.mu.Lock()
	c.corked = true
	c.mu.Unlock()
}

// uncork writes what was collected, within the write timeout, and lets
// later writes through.
func (c *corkConn) uncork() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.corked = false
	return c.flushLocked()
}

func (c *corkConn) flushLocked() error {
	if c.buf == nil {
		return c.err
	}
	b := c.buf
	c.buf = nil
	if len(*b) > 0 && c.err == nil {
		_ = c.Conn.SetWriteDeadline(time.Now().Add(c.timeout))
		_, c.err = c.Conn.Write(*b)
		_ = c.Conn.SetWriteDeadline(time.Time{})
	}
	if cap(*b) <= 4*corkFlushAt {
		*b = (*b)[:0]
		corkBufs.Put(b)
	}
	return c.err
}

// Close sends what is still collected (a close frame, say), then closes.
func (c *corkConn) Close() error {
	_ = c.uncork()
	return c.Conn.Close()
}

// corkWriter hands the WebSocket library a corkConn when it hijacks the
// HTTP connection.
type corkWriter struct {
	http.ResponseWriter
	timeout time.Duration
	conn    *corkConn
}

func (w *corkWriter) Hijack() (net.Conn, *bufio.ReadWriter, error) {
	hj, ok := w.ResponseWriter.(http.Hijacker)
	if !ok {
		return nil, nil, http.ErrNotSupported
	}
	nc, brw, err := hj.Hijack()
	if err != nil {
		return nil, nil, err
	}
	w.conn = &corkConn{Conn: nc, timeout: w.timeout}
	// Small buffers: an idle socket keeps both for its whole life, and they
	// were most of its memory. Frames are written corked (the corkConn
	// collects them), so the writer's buffer need only hold a control
	// frame; client frames are small, so the reader's need not be large.
	// The HTTP server's reader is kept if the client already sent bytes.
	br := brw.Reader
	if br.Buffered() == 0 {
		br = bufio.NewReaderSize(w.conn, readBufferSize)
	}
	return w.conn, bufio.NewReadWriter(br, bufio.NewWriterSize(w.conn, writeBufferSize)), nil
}

const (
	readBufferSize  = 1 << 10
	writeBufferSize = 256
)
