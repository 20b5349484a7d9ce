package egress

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

// fakeDNS answers names from a table, as a resolver an attacker controls
// would: tests can only listen on loopback, so "public" names map there.
type fakeDNS map[string]string

func (f fakeDNS) LookupNetIP(_ context.Context, _, host string) ([]netip.Addr, error) {
	ip, ok := f[host]
	if !ok {
		return nil, &net.DNSError{Err: "no such host", Name: host, IsNotFound: true}
	}
	return []netip.Addr{netip.MustParseAddr(ip)}, nil
}

func portOf(t *testing.T, srv *httptest.Server) string {
	_, port, err := net.SplitHostPort(srv.Listener.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	return port
}

func get(c *Client, url string) (*Response, error) {
	return c.Do(context.Background(), Call{URL: url, Timeout: 10 * time.Second, MaxBody: 1 << 10})
}

// The attack: an opted-in host redirects to a loopback service.
// The redirect hop is checked like the first one, and refused before any
// byte reaches the loopback service.
func TestRedirectToLoopbackIsRefused(t *testing.T) {
	var internalHits atomic.Int32
	internal := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		internalHits.Add(1)
		fmt.Fprint(w, "SECRET-VALUE")
	}))
	defer internal.Close()
	public := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, internal.URL+"/latest/meta-data?token=SECRET", http.StatusFound)
	}))
	defer public.Close()
	c := New(Options{Allow: Allow{Hosts: []string{"public.example"}}, Resolver: fakeDNS{"public.example": "127.0.0.1"}})

	_, err := get(c, "http://public.example:"+portOf(t, public)+"/flags?token=SECRET")
	var ref *Refused
	if !errors.As(err, &ref) || ref.Kind != RefusedAddress || ref.Host != "127.0.0.1" {
		t.Fatalf("err = %v, want the redirect to 127.0.0.1 refused", err)
	}
	if strings.Contains(err.Error(), "SECRET") || !strings.Contains(err.Error(), "DEPLOYBOT_EGRESS_ALLOW") {
		t.Errorf("err = %q", err)
	}
	if n := internalHits.Load(); n != 0 {
		t.Errorf("the loopback service got %d requests", n)
	}
}

// A name that resolves to a loopback address (DNS rebinding, or a record
// pointing inside) is refused on its resolved address.
func TestNameResolvingToLoopbackIsRefused(t *testing.T) {
	var hits atomic.Int32
	internal := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { hits.Add(1) }))
	defer internal.Close()
	c := New(Options{Resolver: fakeDNS{"rebind.example": "127.0.0.1", "meta.example": "::ffff:169.254.169.254"}})
	for _, host := range []string{"rebind.example", "meta.example"} {
		_, err := get(c, "http://"+host+":"+portOf(t, internal)+"/")
		var ref *Refused
		if !errors.As(err, &ref) || ref.Host != host || !strings.Contains(err.Error(), host+" resolves to a") {
			t.Errorf("%s: err = %v", host, err)
		}
	}
	for _, u := range []string{internal.URL, strings.Replace(internal.URL, "127.0.0.1", "[::ffff:127.0.0.1]", 1)} {
		if _, err := get(c, u); !errors.As(err, new(*Refused)) {
			t.Errorf("%s: err = %v, want refused", u, err)
		}
	}
	if n := hits.Load(); n != 0 {
		t.Errorf("the loopback service got %d requests", n)
	}
}

func TestRedirectsAreCapped(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var n int
		fmt.Sscanf(r.URL.Path, "/hop/%d", &n)
		if n > 0 {
			http.Redirect(w, r, fmt.Sprintf("/hop/%d", n-1), http.StatusFound)
			return
		}
		fmt.Fprint(w, "arrived")
	}))
	defer srv.Close()
	c := New(Options{Allow: Loopback()})
	resp, err := get(c, srv.URL+"/hop/5")
	if err != nil || string(resp.Body) != "arrived" {
		t.Fatalf("5 redirects: %v %v", resp, err)
	}
	_, err = get(c, srv.URL+"/hop/6")
	var ref *Refused
	if !errors.As(err, &ref) || ref.Kind != RefusedRedirects || !strings.Contains(err.Error(), "redirected more than 5 times") {
		t.Fatalf("6 redirects: err = %v", err)
	}
}

// A POST (the executor's signed step JSON) goes only where configured: a
// redirect is its answer.
func TestPostIsNotRedirected(t *testing.T) {
	var elsewhere atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/elsewhere" {
			elsewhere.Add(1)
			return
		}
		http.Redirect(w, r, "/elsewhere", http.StatusTemporaryRedirect)
	}))
	defer srv.Close()
	resp, err := New(Options{Allow: Loopback()}).Do(context.Background(), Call{Method: http.MethodPost, URL: srv.URL + "/hook", Body: []byte("{}"), Timeout: time.Minute})
	if err != nil || resp.Status != http.StatusTemporaryRedirect || elsewhere.Load() != 0 {
		t.Fatalf("resp = %+v, err = %v, followed %d times", resp, err, elsewhere.Load())
	}
}

func TestOnlyHTTPSchemes(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, strings.TrimPrefix(r.URL.Path, "/to/"), http.StatusFound)
	}))
	defer srv.Close()
	c := New(Options{Allow: Loopback()})
	for _, u := range []string{
		"file:///etc/passwd", "gopher://127.0.0.1:70/_SECRET", "ftp://files.example/x",
		srv.URL + "/to/file:///etc/passwd", srv.URL + "/to/gopher://127.0.0.1:6379/_SECRET",
		"/relative", "http:///nohost",
	} {
		_, err := get(c, u)
		var ref *Refused
		if !errors.As(err, &ref) || ref.Kind != RefusedURL {
			t.Errorf("%s: err = %v, want refused", u, err)
		}
		if err != nil && strings.Contains(err.Error(), "SECRET") {
			t.Errorf("%s: err %q shows the URL", u, err)
		}
	}
}

func TestBodyIsCapped(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprint(w, strings.Repeat("x", 1025))
	}))
	defer srv.Close()
	c := New(Options{Allow: Loopback()})
	for _, tc := range []struct {
		max  int64
		want string // "" for a refusal
	}{{2048, strings.Repeat("x", 1025)}, {1025, strings.Repeat("x", 1025)}, {1024, ""}, {0, ""}} {
		resp, err := c.Do(context.Background(), Call{URL: srv.URL, Timeout: time.Minute, MaxBody: tc.max})
		switch {
		case tc.max == 0:
			if err != nil || len(resp.Body) != 0 || resp.Status != 200 {
				t.Errorf("max 0: %+v %v, want the status and no body", resp, err)
			}
		case tc.want == "":
			var ref *Refused
			if !errors.As(err, &ref) || ref.Kind != RefusedBody || !strings.Contains(err.Error(), "answered more than 1 KiB") {
				t.Errorf("max %d: err = %v", tc.max, err)
			}
		case err != nil || string(resp.Body) != tc.want:
			t.Errorf("max %d: %d bytes, %v", tc.max, len(resp.Body), err)
		}
	}
}

func TestErrorsNameTheHostOnly(t *testing.T) {
	dead := httptest.NewServer(http.NotFoundHandler())
	u := strings.Replace(dead.URL, "http://", "http://user:SECRET@", 1) + "/hook?token=SECRET#SECRET"
	dead.Close()
	_, err := get(New(Options{Allow: Loopback()}), u)
	if err == nil || strings.Contains(err.Error(), "SECRET") || !strings.HasPrefix(err.Error(), "GET 127.0.0.1: ") {
		t.Fatalf("err = %v", err)
	}
	_, err = get(New(Options{Resolver: fakeDNS{}}), "http://nowhere.example/x?token=SECRET")
	if err == nil || strings.Contains(err.Error(), "SECRET") || !strings.Contains(err.Error(), "nowhere.example") {
		t.Fatalf("err = %v", err)
	}
}

// Each call has its own deadline; the client has none that would cut a
// long executor call, and no proxy that would dial past the address check.
func TestEveryCallCarriesItsOwnTimeout(t *testing.T) {
	c := New(Options{Allow: Loopback()})
	if c.hc.Timeout != 0 {
		t.Errorf("the client has an overall timeout of %s", c.hc.Timeout)
	}
	if tr := c.hc.Transport.(*http.Transport); tr.Proxy != nil {
		t.Error("the transport uses a proxy")
	}
	if _, err := c.Do(context.Background(), Call{URL: "http://127.0.0.1/"}); err == nil {
		t.Error("a call without a timeout was made")
	}

	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/slow" {
			<-r.Context().Done()
		}
	}))
	defer srv.Close()
	var deadline time.Time
	inner := c.hc.Transport
	c.hc.Transport = roundTripFunc(func(r *http.Request) (*http.Response, error) {
		deadline, _ = r.Context().Deadline()
		return inner.RoundTrip(r)
	})
	before := time.Now()
	if _, err := c.Do(context.Background(), Call{URL: srv.URL, Timeout: 30 * time.Minute}); err != nil {
		t.Fatal(err)
	}
	if d := deadline.Sub(before); d < 30*time.Minute || d > 31*time.Minute {
		t.Errorf("the request's deadline is %s away, want its own 30m", d)
	}
	_, err := c.Do(context.Background(), Call{URL: srv.URL + "/slow", Timeout: 50 * time.Millisecond})
	if !errors.Is(err, context.DeadlineExceeded) || !strings.Contains(err.Error(), "no complete answer within 50ms") {
		t.Errorf("err = %v", err)
	}
}

type roundTripFunc func(*http.Request) (*http.Response, error)

func (f roundTripFunc) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }
