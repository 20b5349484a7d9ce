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
	t.Parallel()
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
		{"PATCH of a check run or comment to a given body: 502 retried", "PATCH", []int{502, 200}, nil, 2, 200},
		{"PUT 500 retried", "PUT", []int{500, 200}, nil, 2, 200},
		{"DELETE 504 retried", "DELETE", []int{504, 204}, nil, 2, 204},
		{"POST 503 is never repeated", "POST", []int{503, 201}, nil, 1, 503},
		{"POST 500 is never repeated", "POST", []int{500, 201}, nil, 1, 500},
		{"POST 504 is never repeated", "POST", []int{504, 201}, nil, 1, 504},
		{"secondary limit without headers is returned (≥ 1 min: a durable snooze)", "POST", []int{403, 201}, nil, 1, 403},
		{"secondary limit with requests remaining ignores the primary reset", "POST", []int{403, 201},
			http.Header{"X-Ratelimit-Remaining": {"4000"}, "X-Ratelimit-Reset": {"SOON"}}, 1, 403},
		{"429 with short Retry-After is retried", "POST", []int{429, 201}, http.Header{"Retry-After": {"0"}}, 2, 201},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
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

// The three retries of a 5xx come within about a second, jittered.
func TestServerErrorBackoff(t *testing.T) {
	t.Parallel()
	var worst time.Duration
	for attempt := range maxRetries {
		base := serverErrorBase << attempt
		seen := map[time.Duration]bool{}
		for range 200 {
			d := serverErrorBackoff(attempt)
			if d < base/2 || d >= base*3/2 {
				t.Fatalf("attempt %d: %v outside [%v, %v)", attempt, d, base/2, base*3/2)
			}
			seen[d] = true
		}
		if len(seen) < 2 {
			t.Errorf("attempt %d: no jitter", attempt)
		}
		worst += base * 3 / 2
	}
	if worst > 1100*time.Millisecond {
		t.Errorf("retries of one request may wait %v in all, want about a second", worst)
	}
}
