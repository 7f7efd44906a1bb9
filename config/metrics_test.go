package config

import (
	"strings"
	"testing"
)

// TestMetricsAddr: --metrics-addr keeps an explicit host, makes a bare
// :PORT loopback-only, and rejects what is not HOST:PORT with a port in
// 1..65535, naming the option.
func TestMetricsAddr(t *testing.T) {
	cases := []struct {
		arg, want, err string
	}{
		{":9100", "127.0.0.1:9100", ""},
		{"127.0.0.1:9100", "127.0.0.1:9100", ""},
		{"0.0.0.0:9100", "0.0.0.0:9100", ""},
		{"[::1]:9100", "[::1]:9100", ""},
		{"localhost:65535", "localhost:65535", ""},
		{"9100", "", "is not HOST:PORT or :PORT"},
		{":0", "", `port "0"`},
		{":65536", "", `port "65536"`},
		{":http", "", `port "http"`},
		{"127.0.0.1:", "", `port ""`},
		{"::1:9100", "", "is not HOST:PORT or :PORT"},
	}
	for _, c := range cases {
		t.Run(c.arg, func(t *testing.T) {
			cfg, err := Parse([]string{"--", "--metrics-addr=" + c.arg})
			if c.err != "" {
				if err == nil {
					t.Fatalf("accepted, address %q; want an error saying %q", cfg.MetricsAddr, c.err)
				}
				if !strings.Contains(err.Error(), c.err) || !strings.Contains(err.Error(), "metrics-addr") {
					t.Fatalf("error %q: want it to name --metrics-addr and say %q", err, c.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if cfg.MetricsAddr != c.want {
				t.Fatalf("address %q, want %q", cfg.MetricsAddr, c.want)
			}
		})
	}
}

// TestMetricsAddrOffByDefault: no option, no /metrics.
func TestMetricsAddrOffByDefault(t *testing.T) {
	cfg, err := Parse([]string{"--"})
	if err != nil {
		t.Fatal(err)
	}
	if cfg.MetricsAddr != "" {
		t.Fatalf("MetricsAddr %q by default, want none", cfg.MetricsAddr)
	}
}
