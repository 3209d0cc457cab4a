package tenants

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"strconv"
	"strings"
	"time"

	"github.com/google/uuid"
)

// Token prefixes say what a bearer token is before any lookup.
const (
	sessionPrefix = "kfs_"
	apiKeyPrefix  = "kf_"
	visitorPrefix = "kfv_"
)

// randomToken returns prefix + 32 random bytes, base64url.
func randomToken(prefix string) string {
	b := make([]byte, 32)
	if _, err := rand.Read(b); err != nil {
		panic(err) // crypto/rand never fails on supported platforms
	}
	return prefix + base64.RawURLEncoding.EncodeToString(b)
}

// hashToken is what is stored for a random token: SHA-256 is enough because
// the token has 256 bits of entropy (no dictionary to slow down).
func hashToken(token string) string {
	sum := sha256.Sum256([]byte(token))
	return hex.EncodeToString(sum[:])
}

// NewID returns a new time-ordered id (UUIDv7).
func NewID() string {
	return uuid.Must(uuid.NewV7()).String()
}

// visitorClaims are signed into a visitor token. Visitor tokens are signed
// rather than stored: every anonymous website visitor gets one, and checking
// one on each WebSocket connect must not cost a database read. They cannot be
// revoked one by one; rotating KEFU_SECRET revokes them all.
type visitorClaims struct {
	Tenant  string `json:"t"`
	Visitor string `json:"v"`
	Expires int64  `json:"e"`
}

func signVisitor(secret []byte, c visitorClaims) string {
	payload, _ := json.Marshal(c)
	p := base64.RawURLEncoding.EncodeToString(payload)
	return visitorPrefix + p + "." + macOf(secret, p)
}

func parseVisitor(secret []byte, token string, now time.Time) (visitorClaims, bool) {
	var c visitorClaims
	rest, ok := strings.CutPrefix(token, visitorPrefix)
	if !ok {
		return c, false
	}
	p, sig, ok := strings.Cut(rest, ".")
	if !ok || !hmac.Equal([]byte(sig), []byte(macOf(secret, p))) {
		return c, false
	}
	b, err := base64.RawURLEncoding.DecodeString(p)
	if err != nil || json.Unmarshal(b, &c) != nil {
		return c, false
	}
	if c.Tenant == "" || c.Visitor == "" || now.Unix() > c.Expires {
		return c, false
	}
	return c, true
}

func macOf(secret []byte, payload string) string {
	m := hmac.New(sha256.New, secret)
	m.Write([]byte("kefu.visitor.v1."))
	m.Write([]byte(payload))
	return base64.RawURLEncoding.EncodeToString(m.Sum(nil))
}

// SignFile returns the signature of a file link that is good until exp (unix
// seconds): a capability for whoever holds the link, bound to the tenant, the
// file and the expiry, so a leaked link dies on its own. Links are computed
// when a message is served to a participant, never stored.
func (s *Service) SignFile(tenantID, fileID string, exp int64) string {
	m := hmac.New(sha256.New, s.secret)
	m.Write([]byte("kefu.file.v2." + tenantID + "/" + fileID + "/" + strconv.FormatInt(exp, 10)))
	return base64.RawURLEncoding.EncodeToString(m.Sum(nil)[:18])
}

// VerifyFile checks a file link's signature; the caller checks exp against
// its clock.
func (s *Service) VerifyFile(tenantID, fileID string, exp int64, sig string) bool {
	return hmac.Equal([]byte(sig), []byte(s.SignFile(tenantID, fileID, exp)))
}
