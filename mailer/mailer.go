// Package mailer sends Kefu's e-mail (invitations, password resets, the
// workspaces of an address, agents' replies to visitors who left) through
// one SMTP server given as a URL: smtp://user:pass@host:port (STARTTLS when
// the server offers it) or smtps://user:pass@host:port (TLS from the first
// byte). A Mailer built from an empty URL is not configured: Send answers
// ErrNotConfigured and Configured reports false, which is how the admin
// pages tell that e-mail is off.
package mailer

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/base64"
	"errors"
	"fmt"
	"mime"
	"net"
	"net/mail"
	"net/smtp"
	"net/url"
	"strings"
	"time"
)

// ErrNotConfigured is Send's answer when no SMTP server is configured.
var ErrNotConfigured = errors.New("mailer: e-mail is not configured")

// Config is how a Mailer reaches its server.
type Config struct {
	// URL is smtp://[user[:pass]@]host[:port] (port 587 by default; STARTTLS
	// when offered) or smtps://… (port 465, implicit TLS). Empty: not
	// configured.
	URL string
	// From is the sender, e.g. "Kefu <no-reply@example.com>"; by default
	// no-reply@ the SMTP host.
	From string
	// Timeout bounds one Send (dial, TLS, the whole dialogue); 30 s by
	// default.
	Timeout time.Duration
	// RootCAs verifies the server's certificate (nil: the system's); tests
	// pass mailertest's.
	RootCAs *x509.CertPool
}

// Mailer sends messages. The zero value and nil are not configured.
type Mailer struct {
	implicitTLS bool
	host, addr  string
	user, pass  string
	from        *mail.Address
	timeout     time.Duration
	rootCAs     *x509.CertPool
}

// New checks c and returns a Mailer. An empty URL gives a Mailer that is not
// configured (and no error); a URL that does not parse, has another scheme,
// or a From that is not an address is an error naming it.
func New(c Config) (*Mailer, error) {
	if c.URL == "" {
		return &Mailer{}, nil
	}
	u, err := url.Parse(c.URL)
	if err != nil {
		return nil, fmt.Errorf("KEFU_SMTP_URL: %v", redact(err))
	}
	m := &Mailer{host: u.Hostname(), timeout: c.Timeout, rootCAs: c.RootCAs}
	port := u.Port()
	switch u.Scheme {
	case "smtp":
		if port == "" {
			port = "587"
		}
	case "smtps":
		m.implicitTLS = true
		if port == "" {
			port = "465"
		}
	default:
		return nil, errors.New("KEFU_SMTP_URL: want smtp://user:pass@host:port or smtps://…")
	}
	if m.host == "" {
		return nil, errors.New("KEFU_SMTP_URL: no host")
	}
	m.addr = net.JoinHostPort(m.host, port)
	if u.User != nil {
		m.user = u.User.Username()
		m.pass, _ = u.User.Password()
	}
	if m.timeout <= 0 {
		m.timeout = 30 * time.Second
	}
	from := c.From
	if from == "" {
		from = "Kefu <no-reply@" + m.host + ">"
	}
	if m.from, err = mail.ParseAddress(from); err != nil {
		return nil, fmt.Errorf("KEFU_SMTP_FROM %q: not an e-mail address", from)
	}
	return m, nil
}

// redact keeps a password in a URL out of an error message.
func redact(err error) error {
	var ue *url.Error
	if errors.As(err, &ue) {
		return ue.Err
	}
	return err
}

// Configured reports whether Send can send.
func (m *Mailer) Configured() bool { return m != nil && m.addr != "" }

// Message is one e-mail: plain text, UTF-8.
type Message struct {
	To      string
	Subject string
	Body    string
}

// Send delivers msg to the server, within the Mailer's timeout or ctx's
// deadline, whichever is sooner. Errors: ErrNotConfigured; an invalid To;
// anything the server or the network says (the message was not accepted).
func (m *Mailer) Send(ctx context.Context, msg Message) error {
	if !m.Configured() {
		return ErrNotConfigured
	}
	to, err := mail.ParseAddress(msg.To)
	if err != nil || strings.ContainsAny(to.Address, "\r\n") {
		return fmt.Errorf("mailer: %q is not an e-mail address", msg.To)
	}
	ctx, cancel := context.WithTimeout(ctx, m.timeout)
	defer cancel()
	deadline, _ := ctx.Deadline()
	d := net.Dialer{}
	conn, err := d.DialContext(ctx, "tcp", m.addr)
	if err != nil {
		return fmt.Errorf("mailer: %w", err)
	}
	defer conn.Close()
	_ = conn.SetDeadline(deadline)
	tlsConf := &tls.Config{ServerName: m.host, RootCAs: m.rootCAs, MinVersion: tls.VersionTLS12}
	if m.implicitTLS {
		tc := tls.Client(conn, tlsConf)
		if err := tc.HandshakeContext(ctx); err != nil {
			return fmt.Errorf("mailer: %w", err)
		}
		conn = tc
	}
	c, err := smtp.NewClient(conn, m.host)
	if err != nil {
		return fmt.Errorf("mailer: %w", err)
	}
	defer c.Close()
	if err := c.Hello("localhost"); err != nil {
		return fmt.Errorf("mailer: %w", err)
	}
	if !m.implicitTLS {
		if ok, _ := c.Extension("STARTTLS"); ok {
			if err := c.StartTLS(tlsConf); err != nil {
				return fmt.Errorf("mailer: STARTTLS: %w", err)
			}
		}
	}
	if m.user != "" {
		// smtp.PlainAuth refuses to send the password unencrypted except to
		// localhost: a server that offers no TLS gets no password.
		if err := c.Auth(smtp.PlainAuth("", m.user, m.pass, m.host)); err != nil {
			return fmt.Errorf("mailer: %w", err)
		}
	}
	if err := c.Mail(m.from.Address); err != nil {
		return fmt.Errorf("mailer: %w", err)
	}
	if err := c.Rcpt(to.Address); err != nil {
		return fmt.Errorf("mailer: %w", err)
	}
	w, err := c.Data()
	if err != nil {
		return fmt.Errorf("mailer: %w", err)
	}
	if _, err := w.Write(m.compose(to, msg)); err != nil {
		return fmt.Errorf("mailer: %w", err)
	}
	if err := w.Close(); err != nil {
		return fmt.Errorf("mailer: %w", err)
	}
	return c.Quit()
}

// compose renders the headers and the body, base64 so that any UTF-8 text
// and any line length pass every server.
func (m *Mailer) compose(to *mail.Address, msg Message) []byte {
	var b strings.Builder
	b.WriteString("From: " + m.from.String() + "\r\n")
	b.WriteString("To: " + to.String() + "\r\n")
	b.WriteString("Subject: " + mime.BEncoding.Encode("utf-8", oneLine(msg.Subject)) + "\r\n")
	b.WriteString("Date: " + time.Now().UTC().Format(time.RFC1123Z) + "\r\n")
	b.WriteString("MIME-Version: 1.0\r\n")
	b.WriteString("Content-Type: text/plain; charset=utf-8\r\n")
	b.WriteString("Content-Transfer-Encoding: base64\r\n\r\n")
	enc := base64.StdEncoding.EncodeToString([]byte(msg.Body))
	for len(enc) > 76 {
		b.WriteString(enc[:76] + "\r\n")
		enc = enc[76:]
	}
	b.WriteString(enc + "\r\n")
	return []byte(b.String())
}

func oneLine(s string) string {
	return strings.NewReplacer("\r", " ", "\n", " ").Replace(s)
}
