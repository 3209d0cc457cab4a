package bots

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"sort"
	"strings"
)

// Request is what a provider sends a model: a system prompt and the
// conversation so far, the question last.
type Request struct {
	Model       string
	System      string
	Messages    []Turn
	Temperature *float64
	MaxTokens   int
}

// Turn is one message of the conversation the model sees.
type Turn struct {
	Role string `json:"role"` // "user" (the visitor) or "assistant" (the business)
	Text string `json:"text"`
}

// Usage is what a call cost.
type Usage struct {
	PromptTokens     int `json:"prompt_tokens"`
	CompletionTokens int `json:"completion_tokens"`
}

// Result is how a call ended, beyond its text.
type Result struct {
	Usage   Usage
	Refused bool // the model declined (a content filter, a refusal stop reason)
}

// Provider is a model API. Stream sends the request and calls delta with
// each piece of the answer as it arrives; it returns when the answer is
// complete, the context ends, or the call fails. A delta error stops the
// call. Providers keep no per-call state and are safe for concurrent use.
type Provider interface {
	Stream(ctx context.Context, req Request, delta func(text string) error) (Result, error)
}

// Embedder is a provider that also serves embeddings.
type Embedder interface {
	Embed(ctx context.Context, model string, texts []string) ([][]float32, error)
}

// ProviderConfig is where a provider reaches its model.
type ProviderConfig struct {
	BaseURL string
	APIKey  string
	HTTP    *http.Client // obeys the private-network rule
}

// Factory makes a provider.
type Factory func(ProviderConfig) (Provider, error)

// Registry maps provider names to factories.
type Registry map[string]Factory

// DefaultRegistry has the providers Kefu ships: "openai" (any
// OpenAI-compatible chat-completions endpoint) and "anthropic".
func DefaultRegistry() Registry {
	return Registry{ProviderOpenAI: newOpenAI, ProviderAnthropic: newAnthropic}
}

// Provider names.
const (
	ProviderOpenAI    = "openai"
	ProviderAnthropic = "anthropic"
)

// Names lists the registered providers.
func (r Registry) Names() []string {
	out := make([]string, 0, len(r))
	for n := range r {
		out = append(out, n)
	}
	sort.Strings(out)
	return out
}

// New makes the named provider.
func (r Registry) New(name string, c ProviderConfig) (Provider, error) {
	f, ok := r[name]
	if !ok {
		return nil, fmt.Errorf("no provider %q", name)
	}
	return f(c)
}

// errEmpty is a call that ended without any text.
var errEmpty = errors.New("the model's answer was empty")

// redact removes secret from an error's text: an SDK error may quote the
// request, and a key must never reach a response or a log line.
func redact(err error, secret string) error {
	if err == nil || secret == "" || !strings.Contains(err.Error(), secret) {
		return err
	}
	return errors.New(strings.ReplaceAll(err.Error(), secret, "[redacted]"))
}
