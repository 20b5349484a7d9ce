package egress

import (
	"errors"
	"net/netip"
	"strings"
	"testing"
)

func TestCheckRefusesNonPublicAddresses(t *testing.T) {
	for _, tc := range []struct {
		ip    string
		class string // "" for public
	}{
		{"127.0.0.1", "loopback"},
		{"127.8.9.10", "loopback"},
		{"::1", "loopback"},
		{"10.1.2.3", "private"},
		{"172.16.0.1", "private"},
		{"172.31.255.254", "private"},
		{"192.168.1.1", "private"},
		{"169.254.169.254", "link-local"}, // cloud metadata
		{"fe80::1", "link-local"},
		{"fe80::1%eth0", "link-local"},
		{"100.64.0.1", "carrier-grade NAT"},
		{"100.127.255.255", "carrier-grade NAT"},
		{"fd00::1", "unique-local"},
		{"fc00::1", "unique-local"},
		{"::ffff:127.0.0.1", "loopback"},
		{"::ffff:169.254.169.254", "link-local"},
		{"::ffff:10.0.0.1", "private"},
		{"64:ff9b::a9fe:a9fe", "link-local"}, // NAT64 of 169.254.169.254
		{"2002:7f00:1::", "loopback"},        // 6to4 of 127.0.0.1
		{"::7f00:1", "IPv4-compatible"},
		{"0.0.0.0", "unspecified"},
		{"::", "unspecified"},
		{"0.1.2.3", "this-network"},
		{"224.0.0.1", "multicast"},
		{"ff02::1", "multicast"},
		{"255.255.255.255", "reserved"},
		{"198.18.0.1", "benchmarking"},
		{"93.184.215.14", ""},
		{"8.8.8.8", ""},
		{"172.32.0.1", ""},
		{"100.128.0.1", ""},
		{"2606:2800:21f:cb07:6820:80da:af6b:8b2c", ""},
		{"::ffff:8.8.8.8", ""},
		{"64:ff9b::808:808", ""},
	} {
		t.Run(tc.ip, func(t *testing.T) {
			ip := netip.MustParseAddr(tc.ip)
			if got := Classify(ip); got != tc.class {
				t.Errorf("Classify = %q, want %q", got, tc.class)
			}
			err := Allow{}.Check("svc.example", ip)
			if tc.class == "" {
				if err != nil {
					t.Fatalf("a public address is refused: %v", err)
				}
				return
			}
			var ref *Refused
			if !errors.As(err, &ref) || ref.Kind != RefusedAddress {
				t.Fatalf("Check = %v, want a refused address", err)
			}
			for _, want := range []string{"svc.example resolves to a " + tc.class + " address", "not allowed", "DEPLOYBOT_EGRESS_ALLOW=svc.example"} {
				if !strings.Contains(err.Error(), want) {
					t.Errorf("%q lacks %q", err, want)
				}
			}
			if strings.Contains(err.Error(), strings.Split(tc.ip, "%")[0]) {
				t.Errorf("%q shows the address the name resolved to", err)
			}
		})
	}
}

func TestAllowLetsOptedInAddressesThrough(t *testing.T) {
	allow, err := ParseAllow("prometheus.monitoring.svc, 10.0.0.0/8,127.0.0.1,fd00::/8")
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		host, ip string
		ok       bool
	}{
		{"prometheus.monitoring.svc", "10.96.0.12", true},
		{"Prometheus.Monitoring.SVC.", "192.168.3.4", true}, // a name matches before DNS, any address
		{"grafana.monitoring.svc", "10.96.0.13", true},      // inside the CIDR
		{"grafana.monitoring.svc", "192.168.3.4", false},
		{"127.0.0.1", "127.0.0.1", true},
		{"127.0.0.2", "127.0.0.2", false},
		{"localhost", "::ffff:127.0.0.1", true}, // the mapped form of an allowed address
		{"svc", "fd12::1", true},
		{"svc", "169.254.169.254", false},
		{"prometheus.monitoring.svc.evil.example", "10.0.0.1", true}, // inside the CIDR, not by name
		{"prometheus.monitoring.svc.evil.example", "192.168.0.1", false},
	} {
		t.Run(tc.host+"→"+tc.ip, func(t *testing.T) {
			err := allow.Check(tc.host, netip.MustParseAddr(tc.ip))
			if (err == nil) != tc.ok {
				t.Errorf("Check = %v, want allowed %v", err, tc.ok)
			}
		})
	}
	t.Run("an address URL suggests its /32", func(t *testing.T) {
		err := Allow{}.Check("127.0.0.1", netip.MustParseAddr("127.0.0.1"))
		if err == nil || !strings.Contains(err.Error(), "127.0.0.1 is a loopback address: not allowed") || !strings.Contains(err.Error(), "DEPLOYBOT_EGRESS_ALLOW=127.0.0.1/32") {
			t.Errorf("err = %v", err)
		}
	})
}

func TestParseAllow(t *testing.T) {
	for _, tc := range []struct {
		in, want, err string
	}{
		{"", "", ""},
		{" prometheus.monitoring.svc , 10.0.0.0/8,127.0.0.1/32 ", "prometheus.monitoring.svc,10.0.0.0/8,127.0.0.1/32", ""},
		{"10.1.2.3/8,::1", "10.0.0.0/8,::1/128", ""},
		{"Metrics.Internal.", "metrics.internal", ""},
		{"http://prometheus:9090", "", `"http://prometheus:9090" is neither a host name nor a CIDR`},
		{"prometheus:9090", "", "neither a host name nor a CIDR"},
		{"10.0.0.0/33", "", "neither a host name nor a CIDR"},
		{"fe80::1%eth0", "", "neither a host name nor a CIDR"},
	} {
		t.Run(tc.in, func(t *testing.T) {
			a, err := ParseAllow(tc.in)
			if tc.err != "" {
				if err == nil || !strings.Contains(err.Error(), tc.err) || !strings.Contains(err.Error(), "DEPLOYBOT_EGRESS_ALLOW") {
					t.Fatalf("err = %v, want %q", err, tc.err)
				}
				return
			}
			if err != nil || a.String() != tc.want {
				t.Fatalf("ParseAllow = %q, %v; want %q", a, err, tc.want)
			}
		})
	}
}
