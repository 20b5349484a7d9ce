package checks

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"strings"
	"testing"

	"github.com/deploybot/deploybot/config"
	"github.com/deploybot/deploybot/internal/egress"
)

// The attack: a flags gate pointed at an innocent-looking host that
// redirects to a loopback service must not print what that service holds.
func TestFlagsGateRedirectToLoopbackIsRefused(t *testing.T) {
	const secret = "metadata-secret-4f1c"
	internal := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintf(w, `{"checkout":{"enabled":%q}}`, secret)
	}))
	defer internal.Close()
	public := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, internal.URL+"/latest/meta-data?token=SECRET", http.StatusFound)
	}))
	defer public.Close()
	_, port, _ := net.SplitHostPort(public.Listener.Addr().String())

	g := Flags{Config: &config.FlagsGate{URL: "http://public.example:" + port + "/flags?token=SECRET", Expect: map[string]any{"checkout.enabled": true}}}
	r, err := g.Evaluate(context.Background(), Input{Environment: &config.Environment{Name: "production"}, HTTP: attackClient()})
	if err != nil {
		t.Fatalf("err = %v; a refused address is a verdict, not an error", err)
	}
	shown := r.Reason + "\n" + r.Detail
	if strings.Contains(shown, secret) || strings.Contains(shown, "SECRET") {
		t.Fatalf("the loopback service's answer or the URL's query is shown:\n%s", shown)
	}
	if r.Verdict != Block {
		t.Fatalf("verdict %s (%q), want block", r.Verdict, r.Reason)
	}
	for _, want := range []string{"127.0.0.1", "not allowed", "DEPLOYBOT_EGRESS_ALLOW"} {
		if !strings.Contains(r.Reason, want) {
			t.Errorf("reason %q lacks %q", r.Reason, want)
		}
	}
}

func TestFlagsGateRefusesOtherSchemes(t *testing.T) {
	for _, u := range []string{"file:///etc/passwd", "gopher://127.0.0.1:6379/_SECRET"} {
		g := Flags{Config: &config.FlagsGate{URL: u, Expect: map[string]any{"a": true}}}
		r := eval(t, g, Input{Environment: &config.Environment{Name: "production"}, HTTP: loopbackHTTP()})
		if r.Verdict != Block || !strings.Contains(r.Reason, "fix gates.flags.url") || strings.Contains(r.Reason, "SECRET") {
			t.Errorf("%s: %s %q", u, r.Verdict, r.Reason)
		}
	}
}

// attackClient is what deploybot uses, with DNS answering public.example
// with a loopback address (tests can listen nowhere else) and the operator
// having opted public.example in by name: the redirect hop is still checked.
func attackClient() egress.Doer {
	return egress.New(egress.Options{Allow: egress.Allow{Hosts: []string{"public.example"}}, Resolver: fakeDNS{"public.example": "127.0.0.1"}})
}

// loopbackHTTP reaches test servers on loopback, as the sandbox does.
func loopbackHTTP() egress.Doer { return egress.New(egress.Options{Allow: egress.Loopback()}) }

type fakeDNS map[string]string

func (f fakeDNS) LookupNetIP(_ context.Context, _, host string) ([]netip.Addr, error) {
	if ip, ok := f[host]; ok {
		return []netip.Addr{netip.MustParseAddr(ip)}, nil
	}
	return nil, &net.DNSError{Err: "no such host", Name: host, IsNotFound: true}
}
