package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"mime/multipart"
	"net/http"
	"strconv"
	"strings"

	"kefu/cmd/internal/kefuclient"
)

// serverMetric reads one unlabelled value from the server's metrics: from
// --metrics-url when given (a server with KEFU_METRICS_ADDR), else from
// /metrics on the server's address (which answers loopback clients, or
// --metrics-token when the server has KEFU_METRICS_TOKEN).
func serverMetric(ctx context.Context, o options, name string) (float64, error) {
	url := o.metricsURL
	if url == "" {
		url = o.url + "/metrics"
	}
	req, _ := http.NewRequestWithContext(ctx, "GET", url, nil)
	if o.metricsToken != "" {
		req.Header.Set("Authorization", "Bearer "+o.metricsToken)
	}
	res, err := kefuclient.HTTP.Do(req)
	if err != nil {
		return 0, err
	}
	defer res.Body.Close()
	if res.StatusCode != http.StatusOK {
		return 0, fmt.Errorf("%s: %s", url, res.Status)
	}
	sc := bufio.NewScanner(res.Body)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), name+" "); ok {
			return strconv.ParseFloat(strings.TrimSpace(v), 64)
		}
	}
	return 0, fmt.Errorf("no %s in %s", name, url)
}

// serverRSS reads process_resident_memory_bytes from the server's metrics.
func serverRSS(ctx context.Context, o options) (int64, error) {
	f, err := serverMetric(ctx, o, "process_resident_memory_bytes")
	return int64(f), err
}

// serverCPU is the server's CPU time so far, in seconds (-1 if unknown).
func serverCPU(ctx context.Context, o options) float64 {
	f, err := serverMetric(ctx, o, "process_cpu_seconds_total")
	if err != nil {
		return -1
	}
	return f
}

func serverGoroutines(ctx context.Context, o options) int64 {
	f, err := serverMetric(ctx, o, "go_goroutines")
	if err != nil {
		return -1
	}
	return int64(f)
}

var benchFile = bytes.Repeat([]byte("kefu-bench file line\n"), 400) // ≈ 8 KiB

// uploadFile uploads an 8 KiB file as the visitor and returns its id.
func uploadFile(ctx context.Context, base, token string, n int) (string, error) {
	var buf bytes.Buffer
	w := multipart.NewWriter(&buf)
	fw, _ := w.CreateFormFile("file", fmt.Sprintf("note-%d.txt", n))
	_, _ = fw.Write(benchFile)
	w.Close()
	req, err := http.NewRequestWithContext(ctx, "POST", base+"/api/v1/uploads", &buf)
	if err != nil {
		return "", err
	}
	req.Header.Set("Content-Type", w.FormDataContentType())
	req.Header.Set("Authorization", "Bearer "+token)
	res, err := kefuclient.HTTP.Do(req)
	if err != nil {
		return "", err
	}
	defer res.Body.Close()
	raw, _ := io.ReadAll(res.Body)
	if res.StatusCode == http.StatusTooManyRequests {
		return "", fmt.Errorf("upload: %d %s (run the server with higher KEFU_UPLOADS_PER_MINUTE and KEFU_UPLOAD_*_PER_HOUR limits; see the README)", res.StatusCode, raw)
	}
	if res.StatusCode != http.StatusCreated {
		return "", fmt.Errorf("upload: %d %s", res.StatusCode, raw)
	}
	var out struct{ ID string }
	if err := json.Unmarshal(raw, &out); err != nil {
		return "", err
	}
	return out.ID, nil
}
