package bots

import (
	"context"
	"errors"
	"fmt"

	"github.com/openai/openai-go/v3"
	"github.com/openai/openai-go/v3/option"
	"github.com/openai/openai-go/v3/packages/param"
)

// openaiProvider speaks the OpenAI chat-completions API through the
// official client: OpenAI itself, DeepSeek, Qwen's compatible mode, Ollama,
// vLLM. It builds its services directly so that no OPENAI_* variable of the
// server's environment leaks into a tenant's calls.
type openaiProvider struct {
	chat  openai.ChatCompletionService
	embed openai.EmbeddingService
	key   string
}

func newOpenAI(c ProviderConfig) (Provider, error) {
	if c.BaseURL == "" {
		c.BaseURL = "https://api.openai.com/v1"
	}
	opts := []option.RequestOption{option.WithBaseURL(c.BaseURL), option.WithHTTPClient(c.HTTP), option.WithMaxRetries(0), option.WithMiddleware(openaiPlain)}
	if c.APIKey != "" {
		opts = append(opts, option.WithAPIKey(c.APIKey))
	}
	return &openaiProvider{chat: openai.NewChatCompletionService(opts...), embed: openai.NewEmbeddingService(opts...), key: c.APIKey}, nil
}

func (p *openaiProvider) params(req Request) openai.ChatCompletionNewParams {
	msgs := []openai.ChatCompletionMessageParamUnion{}
	if req.System != "" {
		msgs = append(msgs, openai.SystemMessage(req.System))
	}
	for _, t := range req.Messages {
		if t.Role == "assistant" {
			msgs = append(msgs, openai.AssistantMessage(t.Text))
		} else {
			msgs = append(msgs, openai.UserMessage(t.Text))
		}
	}
	prm := openai.ChatCompletionNewParams{Model: req.Model, Messages: msgs,
		StreamOptions: openai.ChatCompletionStreamOptionsParam{IncludeUsage: param.NewOpt(true)}}
	if req.Temperature != nil {
		prm.Temperature = param.NewOpt(*req.Temperature)
	}
	if req.MaxTokens > 0 {
		prm.MaxTokens = param.NewOpt(int64(req.MaxTokens))
	}
	return prm
}

// Stream streams the answer (server-sent events, parsed by the SDK).
func (p *openaiProvider) Stream(ctx context.Context, req Request, delta func(string) error) (Result, error) {
	stream := p.chat.NewStreaming(ctx, p.params(req))
	defer stream.Close()
	var res Result
	got := false
	for stream.Next() {
		chunk := stream.Current()
		if chunk.Usage.TotalTokens > 0 {
			res.Usage = Usage{PromptTokens: int(chunk.Usage.PromptTokens), CompletionTokens: int(chunk.Usage.CompletionTokens)}
		}
		for _, ch := range chunk.Choices {
			if ch.Delta.Refusal != "" || ch.FinishReason == "content_filter" {
				res.Refused = true
			}
			if ch.Delta.Content != "" {
				got = true
				if err := delta(ch.Delta.Content); err != nil {
					return res, err
				}
			}
		}
	}
	if err := stream.Err(); err != nil {
		return res, redact(fmt.Errorf("openai: %w", err), p.key)
	}
	if !got && !res.Refused {
		return res, errEmpty
	}
	return res, nil
}

// Embed returns one vector per text.
func (p *openaiProvider) Embed(ctx context.Context, model string, texts []string) ([][]float32, error) {
	res, err := p.embed.New(ctx, openai.EmbeddingNewParams{Model: model, Input: openai.EmbeddingNewParamsInputUnion{OfArrayOfStrings: texts}})
	if err != nil {
		return nil, redact(fmt.Errorf("openai embeddings: %w", err), p.key)
	}
	if len(res.Data) != len(texts) {
		return nil, errors.New("openai embeddings: wrong number of vectors")
	}
	out := make([][]float32, len(texts))
	for _, d := range res.Data {
		if d.Index < 0 || int(d.Index) >= len(out) {
			return nil, errors.New("openai embeddings: bad index")
		}
		v := make([]float32, len(d.Embedding))
		for i, x := range d.Embedding {
			v[i] = float32(x)
		}
		out[d.Index] = v
	}
	return out, nil
}
