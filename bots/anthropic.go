package bots

import (
	"context"
	"fmt"

	"github.com/anthropics/anthropic-sdk-go/v2"
	"github.com/anthropics/anthropic-sdk-go/v2/option"
)

// anthropicProvider speaks Anthropic's Messages API through the official
// client, with the environment's ANTHROPIC_* defaults turned off.
type anthropicProvider struct {
	client anthropic.Client
	key    string
}

func newAnthropic(c ProviderConfig) (Provider, error) {
	if c.BaseURL == "" {
		c.BaseURL = "https://api.anthropic.com"
	}
	opts := []option.RequestOption{option.WithoutEnvironmentDefaults(), option.WithBaseURL(c.BaseURL),
		option.WithHTTPClient(c.HTTP), option.WithMaxRetries(0), option.WithoutOpenTelemetry(), option.WithMiddleware(anthropicPlain)}
	if c.APIKey != "" {
		opts = append(opts, option.WithAPIKey(c.APIKey), option.WithHeader("x-api-key", c.APIKey))
	}
	return &anthropicProvider{client: anthropic.NewClient(opts...), key: c.APIKey}, nil
}

// Stream streams the answer.
func (p *anthropicProvider) Stream(ctx context.Context, req Request, delta func(string) error) (Result, error) {
	maxTokens := int64(req.MaxTokens)
	if maxTokens <= 0 {
		maxTokens = 1024
	}
	prm := anthropic.MessageNewParams{Model: anthropic.Model(req.Model), MaxTokens: maxTokens}
	if req.System != "" {
		prm.System = []anthropic.TextBlockParam{{Text: req.System}}
	}
	for _, t := range req.Messages {
		if t.Role == "assistant" {
			prm.Messages = append(prm.Messages, anthropic.NewAssistantMessage(anthropic.NewTextBlock(t.Text)))
		} else {
			prm.Messages = append(prm.Messages, anthropic.NewUserMessage(anthropic.NewTextBlock(t.Text)))
		}
	}
	var opts []option.RequestOption
	if req.Temperature != nil { // not a field of this SDK's params: set in the body
		opts = append(opts, option.WithJSONSet("temperature", *req.Temperature))
	}
	stream := p.client.Messages.NewStreaming(ctx, prm, opts...)
	defer stream.Close()
	var res Result
	got := false
	for stream.Next() {
		ev := stream.Current()
		switch ev.Type {
		case "message_start":
			res.Usage.PromptTokens = int(ev.Message.Usage.InputTokens)
		case "content_block_delta":
			if ev.Delta.Text != "" {
				got = true
				if err := delta(ev.Delta.Text); err != nil {
					return res, err
				}
			}
		case "message_delta":
			res.Usage.CompletionTokens = int(ev.Usage.OutputTokens)
			if ev.Delta.StopReason == "refusal" {
				res.Refused = true
			}
		}
	}
	if err := stream.Err(); err != nil {
		return res, redact(fmt.Errorf("anthropic: %w", err), p.key)
	}
	if !got && !res.Refused {
		return res, errEmpty
	}
	return res, nil
}
