package chat

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"time"

	egress "kefu/outbound"
)

// outbound posts to tenant-supplied URLs (webhook nodes) through a client
// that obeys the private-network rule (see package outbound).
type outbound struct {
	client *http.Client
}

func newOutbound(allowPrivate bool) *outbound {
	return &outbound{client: egress.NewClient(egress.Options{AllowPrivate: allowPrivate})}
}

// post sends payload as JSON and wants a 2xx within timeout.
func (o *outbound) post(ctx context.Context, url string, timeout time.Duration, payload any) error {
	body, err := json.Marshal(payload)
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, url, bytes.NewReader(body))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", "Kefu-Webhook/1")
	res, err := o.client.Do(req)
	if err != nil {
		return err
	}
	defer res.Body.Close()
	_, _ = io.Copy(io.Discard, io.LimitReader(res.Body, 64<<10))
	if res.StatusCode < 200 || res.StatusCode > 299 {
		return fmt.Errorf("webhook answered %d", res.StatusCode)
	}
	return nil
}
