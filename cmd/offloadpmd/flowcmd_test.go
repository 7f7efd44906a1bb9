package main

import (
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"
)

// TestFlowSession: flow create, list, query and destroy on forwarding
// net_null ports: the config file's count rule on port 0 counts what port
// 0 receives and port 1's egress count rule what port 1 sends (the same
// packets: hits, and 64 bytes each), port 1's drop rule drops what it
// receives (classify-drop); a rule destroyed is no longer listed or
// queried.
func TestFlowSession(t *testing.T) {
	needRoot(t)
	cfg := writeConfigFile(t, `
ports:
  - devargs: net_null0
    offloads: {rx: [classify]}
  - devargs: net_null1
    offloads: {rx: [classify]}
rules:
  0:
    - ingress pattern eth / end actions count / end
`)
	script := strings.Join([]string{
		"flow list 0",
		"flow create 1 ingress pattern eth / end actions count / drop / end",
		"flow create 1 egress pattern eth / end actions count / end",
		"flow list 1",
		"start",
		"monitor 1 1",
		"stop",
		"flow query 0 0 count",
		"flow query 1 0 count",
		"show offload stats",
		"flow destroy 1 rule 0 rule 5",
		"flow list 1",
		"flow query 1 0 count",
		"flow flush 0",
		"flow list 0",
		"quit",
	}, "\n") + "\n"
	r := runBin(t, script, 90*time.Second, "--", "-i", "--config", cfg, "--total-num-mbufs=8192")
	noPanic(t, r)
	if r.code != 0 {
		t.Fatalf("exit %d\n%s\n%s", r.code, r.stdout, r.stderr)
	}
	out := r.stdout
	for _, w := range []string{
		"ID\tGroup\tPrio\tAttr\tRule\n0\t0\t0\ti--\tETH => COUNT\n",
		"Flow rule #0 created\ntestpmd> Flow rule #1 created\n",
		"ID\tGroup\tPrio\tAttr\tRule\n0\t0\t0\ti--\tETH => COUNT DROP\n1\t0\t0\t-e-\tETH => COUNT\n",
		"Flow rule #0 destroyed\n",
		"ID\tGroup\tPrio\tAttr\tRule\n1\t0\t0\t-e-\tETH => COUNT\n",
		"Flow rule #0 not found\n",
	} {
		if !strings.Contains(out, w) {
			t.Errorf("output lacks %q:\n%s", w, out)
		}
	}
	if strings.Contains(out, "Flow rule #5 destroyed") {
		t.Error("a rule that does not exist was destroyed")
	}
	counts := regexp.MustCompile(`COUNT:\n hits_set: 1\n bytes_set: 1\n hits: (\d+)\n bytes: (\d+)\n`).FindAllStringSubmatch(out, -1)
	if len(counts) != 2 {
		t.Fatalf("%d COUNT blocks, want 2:\n%s", len(counts), out)
	}
	for i, c := range counts {
		hits, _ := strconv.ParseUint(c[1], 10, 64)
		bytes, _ := strconv.ParseUint(c[2], 10, 64)
		if hits < 1000 || bytes != 64*hits {
			t.Errorf("rule %d counted %d hits, %d bytes; want many 64-byte packets", i, hits, bytes)
		}
	}
	m := regexp.MustCompile(`(?m)^\s*classify-drop\s+(\d+)`).FindStringSubmatch(out)
	if m == nil || m[1] == "0" {
		t.Errorf("no classify-drop in show offload stats:\n%s", out)
	}
	if n := strings.Count(out, "0\t0\t0\ti--\tETH => COUNT\n"); n != 1 {
		t.Errorf("port 0's rule listed %d times, want once (before flow flush 0)", n)
	}
	if strings.Contains(r.stderr, "flow ") && strings.Contains(r.stderr, ": ") {
		for _, l := range strings.Split(r.stderr, "\n") {
			if strings.HasPrefix(l, "flow ") {
				t.Errorf("a flow command failed: %s", l)
			}
		}
	}
}

// TestFlowConfigErrors: a config file's rule naming a port that does not
// exist, or an SA that does not, stops offloadpmd at startup with the
// file, line and reason.
func TestFlowConfigErrors(t *testing.T) {
	needRoot(t)
	for _, c := range []struct{ rules, want string }{
		{"  5:\n    - ingress pattern eth / end actions drop / end\n", ":5: rules.5: there is no port 5"},
		{"  0:\n    - ingress pattern eth / end actions count / end\n    - ingress pattern eth / ipv4 / end actions esp sa 3 / end\n",
			":6: rules.0: esp sa 3: no SA 3 (sa add 3 ... out ...)"},
		{"  0:\n    - ingress pattern eth / end actions queue index 2 / end\n", ":5: rules.0: queue index 2: port 0 has 1 RX queue"},
	} {
		cfg := writeConfigFile(t, "ports:\n  - devargs: net_null0\nrules:\n"+c.rules)
		r := runBin(t, "", 60*time.Second, "--", "--config", cfg, "--total-num-mbufs=8192", "--run-time=1")
		noPanic(t, r)
		if r.code == 0 || !strings.Contains(r.stderr, cfg+c.want) {
			t.Errorf("exit %d, stderr lacks %q:\n%s", r.code, cfg+c.want, r.stderr)
		}
	}
}
