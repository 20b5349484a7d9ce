package egress

import (
	"fmt"
	"net/netip"
	"strings"
)

// AllowSetting is the server setting operators opt hosts and CIDRs in with.
const AllowSetting = "DEPLOYBOT_EGRESS_ALLOW"

// Allow is the operator's opt-in list: exact host names (matched on the
// URL's host, before DNS) and CIDRs (matched on the resolved address).
type Allow struct {
	Hosts []string
	Nets  []netip.Prefix
}

// Loopback allows 127.0.0.0/8 and ::1: for a deploy target on the same
// machine (the demo and tests), never a production default.
func Loopback() Allow {
	return Allow{Nets: []netip.Prefix{netip.MustParsePrefix("127.0.0.0/8"), netip.MustParsePrefix("::1/128")}}
}

// ParseAllow reads a comma-separated list of host names, IP addresses and
// CIDRs ("prometheus.monitoring.svc,10.0.0.0/8,127.0.0.1").
func ParseAllow(s string) (Allow, error) {
	var a Allow
	for _, e := range strings.Split(s, ",") {
		e = strings.TrimSpace(e)
		if e == "" {
			continue
		}
		if p, err := netip.ParsePrefix(e); err == nil {
			if p.Addr().Zone() != "" {
				return Allow{}, fmt.Errorf("%s: %q has a zone; give a plain CIDR such as 10.0.0.0/8", AllowSetting, e)
			}
			a.Nets = append(a.Nets, p.Masked())
			continue
		}
		if ip, err := netip.ParseAddr(e); err == nil && ip.Zone() == "" {
			a.Nets = append(a.Nets, netip.PrefixFrom(ip, ip.BitLen()))
			continue
		}
		if !validHost(e) {
			return Allow{}, fmt.Errorf("%s: %q is neither a host name nor a CIDR; give entries such as prometheus.monitoring.svc or 10.0.0.0/8 (no scheme, port or path)", AllowSetting, e)
		}
		a.Hosts = append(a.Hosts, normalHost(e))
	}
	return a, nil
}

// String is the list in ParseAllow's form.
func (a Allow) String() string {
	parts := append([]string(nil), a.Hosts...)
	for _, p := range a.Nets {
		parts = append(parts, p.String())
	}
	return strings.Join(parts, ",")
}

// Check decides whether deploybot may connect to ip, which host resolved
// to (host is ip itself for an address URL). It returns a *Refused naming
// host, never the address a name resolved to.
func (a Allow) Check(host string, ip netip.Addr) error {
	h := normalHost(host)
	for _, allowed := range a.Hosts {
		if h == allowed {
			return nil
		}
	}
	ip = ip.WithZone("")
	for _, p := range a.Nets {
		if p.Contains(ip) || p.Contains(ip.Unmap()) {
			return nil
		}
	}
	class := Classify(ip)
	if class == "" {
		return nil
	}
	entry := h
	if lit, err := netip.ParseAddr(h); err == nil {
		entry = netip.PrefixFrom(lit.WithZone(""), lit.BitLen()).String()
		return &Refused{Kind: RefusedAddress, Host: host,
			Reason: fmt.Sprintf("%s is a %s address: not allowed; an operator can opt it in with %s=%s", host, class, AllowSetting, entry)}
	}
	return &Refused{Kind: RefusedAddress, Host: host,
		Reason: fmt.Sprintf("%s resolves to a %s address: not allowed; an operator can opt it in with %s=%s", host, class, AllowSetting, entry)}
}

func normalHost(h string) string {
	return strings.TrimSuffix(strings.ToLower(strings.Trim(h, "[]")), ".")
}

// validHost accepts DNS names: letters, digits, '-', '_' and dots.
func validHost(h string) bool {
	if h == "" || len(h) > 253 {
		return false
	}
	for _, r := range h {
		switch {
		case r >= 'a' && r <= 'z', r >= 'A' && r <= 'Z', r >= '0' && r <= '9', r == '-', r == '.', r == '_':
		default:
			return false
		}
	}
	return true
}
