package egress

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/netip"
	"net/url"
	"strconv"
	"sync"
	"time"
)

// DefaultMaxRedirects is how many redirects a GET follows.
const DefaultMaxRedirects = 5

// Resolver looks host names up; *net.Resolver is one.
type Resolver interface {
	LookupNetIP(ctx context.Context, network, host string) ([]netip.Addr, error)
}

// Options configure a Client.
type Options struct {
	Allow        Allow
	MaxRedirects int      // DefaultMaxRedirects when 0
	Resolver     Resolver // net.DefaultResolver when nil
}

// Call is one outbound request.
type Call struct {
	Method  string // GET when empty
	URL     string
	Header  http.Header
	Body    []byte
	Timeout time.Duration // required: the whole call, answer included
	// MaxBody caps the answer's body: a longer one is a *Refused
	// (RefusedBody). 0 reads no body.
	MaxBody int64
}

// Response is an answer, its body read (up to the call's MaxBody).
type Response struct {
	Status int
	Header http.Header
	Body   []byte
}

// Doer makes calls; *Client is the one implementation outside tests.
type Doer interface {
	Do(ctx context.Context, c Call) (*Response, error)
}

// Client is the guarded client. It has no overall timeout (each call
// brings its own) and no proxy (a proxy would dial on our behalf, past the
// address check).
type Client struct {
	hc           *http.Client
	allow        Allow
	maxRedirects int
	resolver     Resolver
	dialer       net.Dialer
}

// New returns a guarded client.
func New(o Options) *Client {
	c := &Client{allow: o.Allow, maxRedirects: o.MaxRedirects, resolver: o.Resolver}
	if c.maxRedirects <= 0 {
		c.maxRedirects = DefaultMaxRedirects
	}
	if c.resolver == nil {
		c.resolver = net.DefaultResolver
	}
	c.dialer = net.Dialer{Timeout: 30 * time.Second, KeepAlive: 30 * time.Second}
	c.hc = &http.Client{
		Transport: &http.Transport{
			Proxy:                 nil,
			DialContext:           c.dialContext,
			ForceAttemptHTTP2:     true,
			MaxIdleConns:          100,
			IdleConnTimeout:       90 * time.Second,
			TLSHandshakeTimeout:   10 * time.Second,
			ExpectContinueTimeout: time.Second,
		},
		CheckRedirect: c.checkRedirect,
	}
	return c
}

// Closed is a client that allows no non-public address: what runs when
// nothing else was configured.
var Closed = sync.OnceValue(func() *Client { return New(Options{}) })

// Do makes one call within call.Timeout.
func (c *Client) Do(ctx context.Context, call Call) (*Response, error) {
	if call.Timeout <= 0 {
		return nil, errors.New("egress: a call needs a timeout")
	}
	u, err := url.Parse(call.URL)
	if err != nil || u.Host == "" {
		return nil, &Refused{Kind: RefusedURL, Reason: "not an absolute http(s) URL"}
	}
	host := u.Hostname()
	if u.Scheme != "http" && u.Scheme != "https" {
		return nil, refusedScheme(host, u.Scheme)
	}
	method := call.Method
	if method == "" {
		method = http.MethodGet
	}
	ctx, cancel := context.WithTimeout(ctx, call.Timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, method, call.URL, bytes.NewReader(call.Body))
	if err != nil {
		return nil, &Refused{Kind: RefusedURL, Host: host, Reason: "not a valid URL"}
	}
	for k, vs := range call.Header {
		req.Header[http.CanonicalHeaderKey(k)] = append([]string(nil), vs...)
	}
	resp, err := c.hc.Do(req)
	if err != nil {
		return nil, callError(ctx, method, host, call.Timeout, err)
	}
	defer resp.Body.Close()
	out := &Response{Status: resp.StatusCode, Header: resp.Header}
	if call.MaxBody > 0 {
		out.Body, err = io.ReadAll(LimitBody(resp.Body, call.MaxBody, resp.Request.URL.Hostname()))
		if err != nil {
			return nil, callError(ctx, method, host, call.Timeout, err)
		}
	}
	return out, nil
}

// callError names the method and host and drops what url.Error adds: the
// full URL, query and all.
func callError(ctx context.Context, method, host string, timeout time.Duration, err error) error {
	var ue *url.Error
	if errors.As(err, &ue) {
		err = ue.Err
	}
	var ref *Refused
	if errors.As(err, &ref) {
		return ref
	}
	if ctx.Err() == context.DeadlineExceeded {
		return fmt.Errorf("%s %s: no complete answer within %s: %w", method, host, timeout, context.DeadlineExceeded)
	}
	return fmt.Errorf("%s %s: %w", method, host, err)
}

func refusedScheme(host, scheme string) *Refused {
	return &Refused{Kind: RefusedURL, Host: host,
		Reason: fmt.Sprintf("URL scheme %q is not allowed: deploybot calls http and https URLs only", scheme)}
}

// checkRedirect follows at most maxRedirects redirects of a GET, to http(s)
// URLs only. Other methods (the executor's signed POST) are not sent on:
// the redirect is their answer.
func (c *Client) checkRedirect(req *http.Request, via []*http.Request) error {
	if m := via[0].Method; m != http.MethodGet && m != http.MethodHead {
		return http.ErrUseLastResponse
	}
	if len(via) > c.maxRedirects {
		return &Refused{Kind: RefusedRedirects, Host: via[0].URL.Hostname(),
			Reason: fmt.Sprintf("%s redirected more than %d times", via[0].URL.Hostname(), c.maxRedirects)}
	}
	if req.URL.Scheme != "http" && req.URL.Scheme != "https" {
		return refusedScheme(req.URL.Hostname(), req.URL.Scheme)
	}
	return nil
}

// dialContext resolves addr's host, checks every address against the
// allow list, and dials the checked address itself, so a second DNS answer
// cannot swap in another.
func (c *Client) dialContext(ctx context.Context, network, addr string) (net.Conn, error) {
	host, portStr, err := net.SplitHostPort(addr)
	if err != nil {
		return nil, err
	}
	port, err := strconv.ParseUint(portStr, 10, 16)
	if err != nil {
		return nil, fmt.Errorf("bad port in %s", host)
	}
	ips, err := c.resolve(ctx, host)
	if err != nil {
		return nil, err
	}
	var refused, dialErr error
	for _, ip := range ips {
		if err := c.allow.Check(host, ip); err != nil {
			refused = err
			continue
		}
		conn, err := c.dialer.DialContext(ctx, network, netip.AddrPortFrom(ip, uint16(port)).String())
		if err == nil {
			return conn, nil
		}
		dialErr = err
	}
	if dialErr != nil {
		return nil, dialErr
	}
	if refused != nil {
		return nil, refused
	}
	return nil, fmt.Errorf("%s has no address", host)
}

func (c *Client) resolve(ctx context.Context, host string) ([]netip.Addr, error) {
	if ip, err := netip.ParseAddr(host); err == nil {
		return []netip.Addr{ip}, nil
	}
	ips, err := c.resolver.LookupNetIP(ctx, "ip", host)
	if err != nil {
		return nil, fmt.Errorf("resolve %s: %w", host, err)
	}
	return ips, nil
}

// LimitBody returns r, which fails with a *Refused (RefusedBody) once it
// has given max bytes and more remain.
func LimitBody(r io.Reader, max int64, host string) io.Reader {
	return &limitedBody{r: r, left: max, max: max, host: host}
}

type limitedBody struct {
	r         io.Reader
	left, max int64
	host      string
}

func (l *limitedBody) Read(p []byte) (int, error) {
	if l.left <= 0 {
		// Something beyond the cap? One byte tells.
		var one [1]byte
		n, err := l.r.Read(one[:])
		if n > 0 {
			return 0, &Refused{Kind: RefusedBody, Host: l.host,
				Reason: fmt.Sprintf("%s answered more than %s", l.host, size(l.max))}
		}
		return 0, err
	}
	if int64(len(p)) > l.left {
		p = p[:l.left]
	}
	n, err := l.r.Read(p)
	l.left -= int64(n)
	return n, err
}

func size(n int64) string {
	switch {
	case n >= 1<<20 && n%(1<<20) == 0:
		return fmt.Sprintf("%d MiB", n>>20)
	case n >= 1<<10 && n%(1<<10) == 0:
		return fmt.Sprintf("%d KiB", n>>10)
	}
	return fmt.Sprintf("%d bytes", n)
}
