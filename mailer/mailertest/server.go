// Package mailertest is a small real SMTP server for tests: it listens on
// 127.0.0.1:0, speaks enough of RFC 5321 for net/smtp (EHLO, STARTTLS, AUTH
// PLAIN, MAIL, RCPT, DATA, RSET, NOOP, QUIT) and keeps every message it
// accepts, decoded, for the test to read.
package mailertest

import (
	"bufio"
	"bytes"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"fmt"
	"io"
	"math/big"
	"mime"
	"net"
	"net/mail"
	"strings"
	"sync"
	"testing"
	"time"
)

// Mode is how the server uses TLS.
type Mode int

const (
	// Plain offers no TLS.
	Plain Mode = iota
	// StartTLS offers STARTTLS after EHLO.
	StartTLS
	// ImplicitTLS speaks TLS from the first byte (smtps).
	ImplicitTLS
)

// Message is one accepted message, decoded.
type Message struct {
	From    string   // envelope sender
	To      []string // envelope recipients
	Subject string   // decoded
	Body    string   // decoded text
	Header  mail.Header
	Raw     []byte
	TLS     bool // the message came over TLS
	Authed  string
}

// Server is a running test SMTP server.
type Server struct {
	Addr string // host:port
	// User and Pass, when set, are required (AUTH PLAIN) before MAIL.
	User, Pass string
	mode       Mode
	ln         net.Listener
	tlsConf    *tls.Config
	pool       *x509.CertPool

	mu       sync.Mutex
	messages []Message
	arrived  chan struct{}
	wg       sync.WaitGroup
}

// Start runs a server in mode until the test ends. user and pass, when not
// empty, are the only credentials it accepts.
func Start(t testing.TB, mode Mode, user, pass string) *Server {
	t.Helper()
	cert, pool := selfSigned(t)
	s := &Server{User: user, Pass: pass, mode: mode, pool: pool, arrived: make(chan struct{}, 1024),
		tlsConf: &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12}}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("mailertest: %v", err)
	}
	if mode == ImplicitTLS {
		ln = tls.NewListener(ln, s.tlsConf)
	}
	s.ln, s.Addr = ln, ln.Addr().String()
	s.wg.Add(1)
	go s.accept()
	t.Cleanup(func() { _ = s.ln.Close(); s.wg.Wait() })
	return s
}

// URL is the KEFU_SMTP_URL for this server.
func (s *Server) URL() string {
	scheme := "smtp"
	if s.mode == ImplicitTLS {
		scheme = "smtps"
	}
	auth := ""
	if s.User != "" {
		auth = s.User + ":" + s.Pass + "@"
	}
	return scheme + "://" + auth + s.Addr
}

// RootCAs trusts the server's certificate.
func (s *Server) RootCAs() *x509.CertPool { return s.pool }

// Messages returns what the server accepted so far.
func (s *Server) Messages() []Message {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Message(nil), s.messages...)
}

// Wait returns once n messages have arrived, or fails the test after d.
func (s *Server) Wait(t testing.TB, n int, d time.Duration) []Message {
	t.Helper()
	deadline := time.After(d)
	for {
		if m := s.Messages(); len(m) >= n {
			return m
		}
		select {
		case <-s.arrived:
		case <-deadline:
			t.Fatalf("mailertest: %d of %d messages after %v", len(s.Messages()), n, d)
		}
	}
}

func (s *Server) accept() {
	defer s.wg.Done()
	for {
		c, err := s.ln.Accept()
		if err != nil {
			return
		}
		s.wg.Add(1)
		go func() {
			defer s.wg.Done()
			defer c.Close()
			_ = c.SetDeadline(time.Now().Add(30 * time.Second))
			s.session(c)
		}()
	}
}

// session runs one SMTP dialogue.
func (s *Server) session(c net.Conn) {
	_, secure := c.(*tls.Conn)
	r, w := bufio.NewReader(c), bufio.NewWriter(c)
	say := func(line string) { fmt.Fprintf(w, "%s\r\n", line); w.Flush() }
	say("220 mailertest ESMTP")
	var from, authed string
	var to []string
	for {
		line, err := r.ReadString('\n')
		if err != nil {
			return
		}
		line = strings.TrimRight(line, "\r\n")
		verb, arg, _ := strings.Cut(line, " ")
		switch strings.ToUpper(verb) {
		case "EHLO", "HELO":
			ext := []string{"250-mailertest", "250-8BITMIME"}
			if s.mode == StartTLS && !secure {
				ext = append(ext, "250-STARTTLS")
			}
			if s.User != "" {
				ext = append(ext, "250-AUTH PLAIN")
			}
			ext = append(ext, "250 SIZE 10485760")
			for _, e := range ext {
				fmt.Fprintf(w, "%s\r\n", e)
			}
			w.Flush()
		case "STARTTLS":
			if s.mode != StartTLS || secure {
				say("502 not offered")
				continue
			}
			say("220 go ahead")
			tc := tls.Server(c, s.tlsConf)
			if err := tc.Handshake(); err != nil {
				return
			}
			c, secure = tc, true
			r, w = bufio.NewReader(c), bufio.NewWriter(c)
			say = func(line string) { fmt.Fprintf(w, "%s\r\n", line); w.Flush() }
			from, to, authed = "", nil, ""
		case "AUTH":
			mech, resp, _ := strings.Cut(arg, " ")
			if !strings.EqualFold(mech, "PLAIN") || s.User == "" {
				say("504 unsupported")
				continue
			}
			b, err := base64.StdEncoding.DecodeString(resp)
			parts := bytes.Split(b, []byte{0})
			if err != nil || len(parts) != 3 || string(parts[1]) != s.User || string(parts[2]) != s.Pass {
				say("535 authentication failed")
				continue
			}
			authed = s.User
			say("235 ok")
		case "MAIL":
			if s.User != "" && authed == "" {
				say("530 authentication required")
				continue
			}
			from, to = addrArg(arg), nil
			say("250 ok")
		case "RCPT":
			if from == "" {
				say("503 MAIL first")
				continue
			}
			to = append(to, addrArg(arg))
			say("250 ok")
		case "DATA":
			if len(to) == 0 {
				say("503 RCPT first")
				continue
			}
			say("354 end with .")
			raw, err := readData(r)
			if err != nil {
				return
			}
			s.keep(from, to, raw, secure, authed)
			from, to = "", nil
			say("250 queued")
		case "RSET":
			from, to = "", nil
			say("250 ok")
		case "NOOP":
			say("250 ok")
		case "QUIT":
			say("221 bye")
			return
		default:
			say("500 unknown command")
		}
	}
}

func addrArg(arg string) string {
	_, a, _ := strings.Cut(arg, ":")
	a = strings.TrimSpace(a)
	if i := strings.Index(a, " "); i > 0 {
		a = a[:i]
	}
	return strings.Trim(a, "<>")
}

func readData(r *bufio.Reader) ([]byte, error) {
	var b bytes.Buffer
	for {
		line, err := r.ReadString('\n')
		if err != nil {
			return nil, err
		}
		if line == ".\r\n" || line == ".\n" {
			return b.Bytes(), nil
		}
		b.WriteString(strings.TrimPrefix(line, "."))
	}
}

func (s *Server) keep(from string, to []string, raw []byte, secure bool, authed string) {
	m := Message{From: from, To: to, Raw: raw, TLS: secure, Authed: authed}
	if pm, err := mail.ReadMessage(bytes.NewReader(raw)); err == nil {
		m.Header = pm.Header
		dec := new(mime.WordDecoder)
		m.Subject, _ = dec.DecodeHeader(pm.Header.Get("Subject"))
		body, _ := io.ReadAll(pm.Body)
		if strings.EqualFold(pm.Header.Get("Content-Transfer-Encoding"), "base64") {
			body, _ = base64.StdEncoding.DecodeString(strings.NewReplacer("\r", "", "\n", "").Replace(string(body)))
		}
		m.Body = string(body)
	}
	s.mu.Lock()
	s.messages = append(s.messages, m)
	s.mu.Unlock()
	select {
	case s.arrived <- struct{}{}:
	default:
	}
}

// selfSigned makes a certificate for 127.0.0.1 and localhost and a pool that
// trusts it.
func selfSigned(t testing.TB) (tls.Certificate, *x509.CertPool) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "mailertest"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(24 * time.Hour),
		IPAddresses: []net.IP{net.IPv4(127, 0, 0, 1)}, DNSNames: []string{"localhost"},
		KeyUsage: x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		BasicConstraintsValid: true, IsCA: true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	leaf, _ := x509.ParseCertificate(der)
	pool := x509.NewCertPool()
	pool.AddCert(leaf)
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key, Leaf: leaf}, pool
}
