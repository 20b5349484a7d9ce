package app

import (
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

func TestRetryMiddleware(t *testing.T) {
	for _, tc := range []struct {
		name      string
		method    string
		answers   []int // status per attempt; the last repeats
		header    http.Header
		wantCalls int
		wantCode  int
	}{
		{"GET 502 then 200 is retried", "GET", []int{502, 200}, nil, 2, 200},
		{"PATCH 503 twice then 200", "PATCH", []int{503, 503, 200}, nil, 3, 200},
		{"GET gives up after 4 attempts", "GET", []int{500}, nil, 4, 500},
		{"POST 502 is not repeated (it may have taken effect)", "POST", []int{502, 201}, nil, 1, 502},
		{"403 with short Retry-After is retried", "POST", []int{403, 201}, http.Header{"Retry-After": {"1"}}, 2, 201},
		{"429 with long Retry-After is returned for a durable snooze", "GET", []int{429, 200}, http.Header{"Retry-After": {"120"}}, 1, 429},
		{"primary limit resetting soon is waited out", "GET", []int{403, 200}, http.Header{"X-Ratelimit-Remaining": {"0"}, "X-Ratelimit-Reset": {"SOON"}}, 2, 200},
		{"primary limit resetting in an hour is returned", "GET", []int{403, 200}, http.Header{"X-Ratelimit-Remaining": {"0"}, "X-Ratelimit-Reset": {"LATER"}}, 1, 403},
		{"plain 404 is not retried", "GET", []int{404, 200}, nil, 1, 404},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var calls atomic.Int32
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				n := int(calls.Add(1))
				code := tc.answers[min(n, len(tc.answers))-1]
				if code >= 400 {
					for k, v := range tc.header {
						val := v[0]
						switch val {
						case "SOON":
							val = strconv.FormatInt(time.Now().Add(time.Second).Unix(), 10)
						case "LATER":
							val = strconv.FormatInt(time.Now().Add(time.Hour).Unix(), 10)
						}
						w.Header().Set(k, val)
					}
				}
				w.WriteHeader(code)
			}))
			defer srv.Close()
			client := &http.Client{Transport: retryMiddleware(http.DefaultTransport)}
			req, _ := http.NewRequest(tc.method, srv.URL, strings.NewReader(`{"a":1}`))
			resp, err := client.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if int(calls.Load()) != tc.wantCalls || resp.StatusCode != tc.wantCode {
				t.Fatalf("calls=%d status=%d, want calls=%d status=%d", calls.Load(), resp.StatusCode, tc.wantCalls, tc.wantCode)
			}
		})
	}
}
