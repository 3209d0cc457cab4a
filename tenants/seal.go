package tenants

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/hkdf"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"errors"
)

// Sealer encrypts a tenant's secrets at rest (model API keys, the widget's
// identity secret) with AES-256-GCM under a key derived from KEFU_SECRET
// with HKDF, one key per purpose (so the signing secret itself never
// encrypts anything, and a value sealed for one purpose does not open for
// another). The tenant id is the additional data: a sealed value copied
// into another tenant's row does not open.
type Sealer struct{ aead cipher.AEAD }

// NewSealer derives the key for purpose (HKDF info) from secret.
func NewSealer(secret []byte, purpose string) (*Sealer, error) {
	if len(secret) == 0 {
		return nil, errors.New("tenants: no secret to derive a sealing key from")
	}
	key, err := hkdf.Key(sha256.New, secret, []byte("kefu"), purpose, 32)
	if err != nil {
		return nil, err
	}
	block, err := aes.NewCipher(key)
	if err != nil {
		return nil, err
	}
	aead, err := cipher.NewGCM(block)
	if err != nil {
		return nil, err
	}
	return &Sealer{aead: aead}, nil
}

// Seal returns "v1:" + base64(nonce ‖ ciphertext).
func (s *Sealer) Seal(tenantID, plain string) (string, error) {
	nonce := make([]byte, s.aead.NonceSize())
	if _, err := rand.Read(nonce); err != nil {
		return "", err
	}
	out := s.aead.Seal(nonce, nonce, []byte(plain), []byte(tenantID))
	return "v1:" + base64.RawStdEncoding.EncodeToString(out), nil
}

// ErrSealed is what Open answers for a value that does not open: another
// tenant's, tampered with, or sealed under another KEFU_SECRET.
var ErrSealed = errors.New("a stored secret does not open (was KEFU_SECRET changed?)")

// Open returns the plain text of a sealed value ("" for "").
func (s *Sealer) Open(tenantID, sealed string) (string, error) {
	if sealed == "" {
		return "", nil
	}
	if len(sealed) < 3 || sealed[:3] != "v1:" {
		return "", ErrSealed
	}
	b, err := base64.RawStdEncoding.DecodeString(sealed[3:])
	if err != nil || len(b) < s.aead.NonceSize() {
		return "", ErrSealed
	}
	n := s.aead.NonceSize()
	plain, err := s.aead.Open(nil, b[:n], b[n:], []byte(tenantID))
	if err != nil {
		return "", ErrSealed
	}
	return string(plain), nil
}
