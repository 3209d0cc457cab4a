package bots

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/hkdf"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"errors"
)

// sealer encrypts tenants' model API keys at rest with AES-256-GCM under a
// key derived from KEFU_SECRET with HKDF (so the signing secret itself
// never encrypts anything). The tenant id is the additional data: a sealed
// key copied into another tenant's row does not open.
type sealer struct{ aead cipher.AEAD }

func newSealer(secret []byte) (*sealer, error) {
	if len(secret) < 16 {
		return nil, errors.New("bots: the secret is too short to derive a key from")
	}
	key, err := hkdf.Key(sha256.New, secret, []byte("kefu"), "kefu bots: model api keys v1", 32)
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
	return &sealer{aead: aead}, nil
}

// seal returns "v1:" + base64(nonce ‖ ciphertext).
func (s *sealer) seal(tenantID, plain string) (string, error) {
	nonce := make([]byte, s.aead.NonceSize())
	if _, err := rand.Read(nonce); err != nil {
		return "", err
	}
	out := s.aead.Seal(nonce, nonce, []byte(plain), []byte(tenantID))
	return "v1:" + base64.RawStdEncoding.EncodeToString(out), nil
}

var errSealed = errors.New("bots: the stored API key does not open (was KEFU_SECRET changed?)")

func (s *sealer) open(tenantID, sealed string) (string, error) {
	if sealed == "" {
		return "", nil
	}
	if len(sealed) < 3 || sealed[:3] != "v1:" {
		return "", errSealed
	}
	b, err := base64.RawStdEncoding.DecodeString(sealed[3:])
	if err != nil || len(b) < s.aead.NonceSize() {
		return "", errSealed
	}
	n := s.aead.NonceSize()
	plain, err := s.aead.Open(nil, b[:n], b[n:], []byte(tenantID))
	if err != nil {
		return "", errSealed
	}
	return string(plain), nil
}
