package egress

import (
	"bytes"
	"fmt"
	"io"
	"net/http"
	"time"
)

// RoundTripper adapts a Doer for libraries that take an *http.Client (the
// Prometheus API client): every request they make goes through the guard,
// within timeout, its answer capped at maxBody.
func RoundTripper(d Doer, timeout time.Duration, maxBody int64) http.RoundTripper {
	return roundTripper{d: d, timeout: timeout, maxBody: maxBody}
}

type roundTripper struct {
	d       Doer
	timeout time.Duration
	maxBody int64
}

func (rt roundTripper) RoundTrip(req *http.Request) (*http.Response, error) {
	var body []byte
	if req.Body != nil {
		b, err := io.ReadAll(io.LimitReader(req.Body, 1<<20))
		req.Body.Close()
		if err != nil {
			return nil, fmt.Errorf("read request body: %w", err)
		}
		body = b
	}
	resp, err := rt.d.Do(req.Context(), Call{Method: req.Method, URL: req.URL.String(), Header: req.Header.Clone(),
		Body: body, Timeout: rt.timeout, MaxBody: rt.maxBody})
	if err != nil {
		return nil, err
	}
	return &http.Response{
		Status: fmt.Sprintf("%d %s", resp.Status, http.StatusText(resp.Status)), StatusCode: resp.Status,
		Proto: "HTTP/1.1", ProtoMajor: 1, ProtoMinor: 1, Header: resp.Header,
		Body: io.NopCloser(bytes.NewReader(resp.Body)), ContentLength: int64(len(resp.Body)), Request: req,
	}, nil
}
