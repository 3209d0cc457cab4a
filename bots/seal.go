package bots

import (
	"errors"

	"kefu/tenants"
)

// sealer encrypts tenants' model API keys at rest: tenants.Sealer (AES-256-GCM
// under a key derived from KEFU_SECRET with HKDF, the tenant id as the
// additional data) with this purpose's own key.
type sealer struct{ s *tenants.Sealer }

func newSealer(secret []byte) (*sealer, error) {
	if len(secret) < 16 {
		return nil, errors.New("bots: the secret is too short to derive a key from")
	}
	s, err := tenants.NewSealer(secret, "kefu bots: model api keys v1")
	if err != nil {
		return nil, err
	}
	return &sealer{s: s}, nil
}

// seal returns "v1:" + base64(nonce ‖ ciphertext).
func (s *sealer) seal(tenantID, plain string) (string, error) { return s.s.Seal(tenantID, plain) }

var errSealed = errors.New("bots: the stored API key does not open (was KEFU_SECRET changed?)")

func (s *sealer) open(tenantID, sealed string) (string, error) {
	plain, err := s.s.Open(tenantID, sealed)
	if err != nil {
		return "", errSealed
	}
	return plain, nil
}
