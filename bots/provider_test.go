package bots

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"kefu/bots/botstest"
	"kefu/outbound"
)

const fakeKey = "sk-test-SECRET-0123456789"

func fakeProvider(t *testing.T, name string, b botstest.Behaviour) (Provider, *botstest.Server) {
	t.Helper()
	var srv *botstest.Server
	base := ""
	if name == ProviderOpenAI {
		srv = botstest.OpenAI(t, b)
		base = srv.BaseURL()
	} else {
		srv = botstest.Anthropic(t, b)
		base = srv.URL
	}
	p, err := DefaultRegistry().New(name, ProviderConfig{BaseURL: base, APIKey: fakeKey, HTTP: outbound.NewClient(outbound.Options{AllowPrivate: true})})
	if err != nil {
		t.Fatal(err)
	}
	return p, srv
}

func TestProviders(t *testing.T) {
	t.Parallel()
	for _, name := range []string{ProviderOpenAI, ProviderAnthropic} {
		t.Run(name, func(t *testing.T) {
			for _, c := range []struct {
				name    string
				b       botstest.Behaviour
				text    string
				pieces  int
				refused bool
				err     bool
			}{
				{name: "a streamed answer arrives in pieces", b: botstest.Behaviour{Answer: "您好，7 天内可以退货。", Pieces: 4}, text: "您好，7 天内可以退货。", pieces: 4},
				{name: "a plain JSON answer is one piece", b: botstest.Behaviour{Answer: "Returns within 7 days.", Plain: true}, text: "Returns within 7 days.", pieces: 1},
				{name: "a failing server is an error", b: botstest.Behaviour{Fail: 500}, err: true},
				{name: "a malformed stream is an error", b: botstest.Behaviour{Malformed: true}, err: true},
				{name: "an empty answer is an error", b: botstest.Behaviour{Empty: true}, err: true},
				{name: "a refusal is flagged", b: botstest.Behaviour{Refuse: true}, refused: true},
			} {
				t.Run(c.name, func(t *testing.T) {
					p, srv := fakeProvider(t, name, c.b)
					var got []string
					res, err := p.Stream(context.Background(), Request{Model: "m", System: "sys", Messages: []Turn{{Role: "user", Text: "怎么退货"}}}, func(s string) error {
						got = append(got, s)
						return nil
					})
					if c.err {
						if err == nil {
							t.Fatalf("no error; got %q", got)
						}
						if strings.Contains(err.Error(), fakeKey) {
							t.Fatalf("the error shows the key: %v", err)
						}
						return
					}
					if err != nil {
						t.Fatal(err)
					}
					if strings.Join(got, "") != c.text || (c.pieces > 0 && len(got) != c.pieces) {
						t.Fatalf("pieces %q, want %q in %d", got, c.text, c.pieces)
					}
					if res.Refused != c.refused {
						t.Fatalf("refused = %v", res.Refused)
					}
					if !c.refused && (res.Usage.PromptTokens != 42 || res.Usage.CompletionTokens == 0) {
						t.Fatalf("usage %+v", res.Usage)
					}
					if a := srv.Auth(); len(a) != 1 || !strings.Contains(a[0], fakeKey) {
						t.Fatalf("the key was not sent: %v", a)
					}
					body := srv.LastRequest()
					if body["model"] != "m" {
						t.Fatalf("request %v", body)
					}
				})
			}
		})
	}
}

func TestProviderStopsWhenTheContextEnds(t *testing.T) {
	t.Parallel()
	for _, name := range []string{ProviderOpenAI, ProviderAnthropic} {
		t.Run(name, func(t *testing.T) {
			p, _ := fakeProvider(t, name, botstest.Behaviour{Answer: "late", Delay: 5 * time.Second})
			ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
			defer cancel()
			start := time.Now()
			_, err := p.Stream(ctx, Request{Model: "m", Messages: []Turn{{Role: "user", Text: "hi"}}}, func(string) error { return nil })
			if err == nil || time.Since(start) > 2*time.Second {
				t.Fatalf("err %v after %v", err, time.Since(start))
			}
			if !errors.Is(err, context.DeadlineExceeded) {
				t.Logf("error: %v", err)
			}
		})
	}
}

func TestPrivateAddressesAreRefusedUnlessAllowed(t *testing.T) {
	t.Parallel()
	srv := botstest.OpenAI(t, botstest.Behaviour{Answer: "hi"})
	p, err := DefaultRegistry().New(ProviderOpenAI, ProviderConfig{BaseURL: srv.BaseURL(), APIKey: fakeKey, HTTP: outbound.NewClient(outbound.Options{})})
	if err != nil {
		t.Fatal(err)
	}
	_, err = p.Stream(context.Background(), Request{Model: "m", Messages: []Turn{{Role: "user", Text: "hi"}}}, func(string) error { return nil })
	if err == nil || !strings.Contains(err.Error(), "not allowed") {
		t.Fatalf("err = %v, want the private-network refusal", err)
	}
	if srv.Calls() != 0 {
		t.Fatalf("the server was reached")
	}
}

func TestSealer(t *testing.T) {
	t.Parallel()
	s, err := newSealer([]byte("0123456789abcdef0123456789abcdef"))
	if err != nil {
		t.Fatal(err)
	}
	sealed, err := s.seal("t1", fakeKey)
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(sealed, fakeKey) || strings.Contains(sealed, "SECRET") {
		t.Fatalf("sealed text shows the key: %s", sealed)
	}
	if got, err := s.open("t1", sealed); err != nil || got != fakeKey {
		t.Fatalf("open: %q %v", got, err)
	}
	if _, err := s.open("t2", sealed); err == nil {
		t.Fatal("a key sealed for one tenant opened for another")
	}
	other, _ := newSealer([]byte("another secret, also 32 bytes long!"))
	if _, err := other.open("t1", sealed); err == nil {
		t.Fatal("a key opened under another secret")
	}
}

func TestMarkerGuard(t *testing.T) {
	t.Parallel()
	var out []string
	g := &markerGuard{out: func(s string) { out = append(out, s) }}
	for _, p := range []string{"HAND", "OFF"} {
		g.add(p)
	}
	if len(out) != 0 {
		t.Fatalf("the marker streamed: %q", out)
	}
	out = nil
	g = &markerGuard{out: func(s string) { out = append(out, s) }}
	for _, p := range []string{"H", "appy to help", "!"} {
		g.add(p)
	}
	g.flush()
	if strings.Join(out, "") != "Happy to help!" {
		t.Fatalf("out %q", out)
	}
}
