package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/offloadpmd/offloadpmd/offload"
	"github.com/offloadpmd/offloadpmd/pmd/pmdtest"
)

const telemetryScript = "/usr/bin/dpdk-telemetry.py"

// needTelemetryClient skips where DPDK's own telemetry client cannot run
// and returns the python3 to run it with.
func needTelemetryClient(t *testing.T) string {
	t.Helper()
	if _, err := os.Stat(telemetryScript); err != nil {
		t.Skipf("DPDK's telemetry client is not installed (%v); it comes with Debian's dpdk-dev", err)
	}
	py, err := exec.LookPath("python3")
	if err != nil {
		t.Skipf("python3, which %s needs, is not installed: %v", telemetryScript, err)
	}
	return py
}

// filePrefix is the --file-prefix of an EAL command line.
func filePrefix(t *testing.T, args []string) string {
	t.Helper()
	for i, a := range args {
		if a == "--file-prefix" && i+1 < len(args) {
			return args[i+1]
		}
	}
	t.Fatal("no --file-prefix in the EAL arguments")
	return ""
}

// waitTelemetry waits until offloadpmd under prefix answers
// /offloadpmd/stats (it serves readers once it forwards or prompts).
func waitTelemetry(t *testing.T, prefix string, out *bytes.Buffer) {
	t.Helper()
	sock := "/var/run/dpdk/" + prefix + "/dpdk_telemetry.v2"
	deadline := time.Now().Add(30 * time.Second)
	for {
		r, err := pmdtest.Telemetry(sock, "/offloadpmd/stats")
		if err == nil && strings.Contains(r[0], `"engine"`) {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("no telemetry from offloadpmd at %s within 30 s: %v %v\noutput:\n%s", sock, r, err, out.String())
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// telemetry runs dpdk-telemetry.py -f prefix with the requests on stdin and
// returns each reply's value (the client prints one JSON object per
// request, keyed by the command).
func telemetry(t *testing.T, py, prefix string, requests ...string) []json.RawMessage {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, py, telemetryScript, "-f", prefix)
	cmd.Stdin = strings.NewReader(strings.Join(requests, "\n") + "\n")
	var errb bytes.Buffer
	cmd.Stderr = &errb
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("%s -f %s: %v\nstdout:\n%s\nstderr:\n%s", telemetryScript, prefix, err, out, errb.String())
	}
	lines := strings.Split(strings.TrimSpace(string(out)), "\n")
	if len(lines) != len(requests) {
		t.Fatalf("%s: %d lines for %d requests:\n%s", telemetryScript, len(lines), len(requests), out)
	}
	var vals []json.RawMessage
	for i, l := range lines {
		var m map[string]json.RawMessage
		if err := json.Unmarshal([]byte(l), &m); err != nil {
			t.Fatalf("reply to %s: %v: %s", requests[i], err, l)
		}
		cmd, _, _ := strings.Cut(requests[i], ",")
		v, ok := m[cmd]
		if !ok || string(v) == "null" {
			t.Fatalf("reply to %s has no value under %q: %s", requests[i], cmd, l)
		}
		vals = append(vals, v)
	}
	return vals
}

// telCaps is /offloadpmd/caps's reply, or its error.
type telCaps struct {
	Port       uint16
	Driver     string
	MTU        uint16 `json:"mtu"`
	Version    uint64
	Rx, Tx     map[string]telCapRow
	Error      string
	ValidPorts []uint16 `json:"valid_ports"`
}

type telCapRow struct {
	Dir, Name                   string
	Hardware, Software, Enabled int
	PerformedBy                 string `json:"performed_by"`
}

type telStats struct {
	Engine     string
	Forwarding int
	Ports      map[string]map[string]any
}

type telTasks struct {
	Tasks            map[string]map[string]uint64
	Refused, Dropped map[string]uint64
}

func decode[T any](t *testing.T, what string, raw json.RawMessage) T {
	t.Helper()
	var v T
	if err := json.Unmarshal(raw, &v); err != nil {
		t.Fatalf("%s: %v: %s", what, err, raw)
	}
	return v
}

// TestTelemetryCommands runs offloadpmd non-interactively over two net_null
// ports and reads its telemetry commands with DPDK's own client: the ports
// and their counters, port 0's capability table, the task counters, and an
// error naming the valid ports for a bad port id.
func TestTelemetryCommands(t *testing.T) {
	needRoot(t)
	py := needTelemetryClient(t)
	args := eal(t, "net_null0", "net_null1")
	prefix := filePrefix(t, args)
	cmd := exec.Command(bin, append(args, "--", "--run-time=60", "--total-num-mbufs=16384")...)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() { _ = cmd.Process.Kill() }()
	waitTelemetry(t, prefix, &out)

	r := telemetry(t, py, prefix, "/offloadpmd/stats", "/offloadpmd/caps,0", "/offloadpmd/caps,9",
		"/offloadpmd/caps", "/offloadpmd/caps,zero", "/offloadpmd/tasks", "/help,/offloadpmd/tasks")

	st := decode[telStats](t, "stats", r[0])
	if st.Engine != "io" || st.Forwarding != 1 || len(st.Ports) != 2 {
		t.Errorf("stats: engine %q, forwarding %d, %d ports; want io, 1, 2", st.Engine, st.Forwarding, len(st.Ports))
	}
	for id, name := range map[string]string{"0": "net_null0", "1": "net_null1"} {
		p := st.Ports[id]
		if p["name"] != name || p["driver"] != "net_null" || p["kernel"] != 0.0 || p["link_up"] != 1.0 {
			t.Errorf("stats: port %s: %v; want %s, net_null, not kernel, link up", id, p, name)
		}
		for _, k := range []string{"ipackets", "opackets", "ibytes", "obytes", "imissed", "ierrors", "oerrors", "rx_nombuf"} {
			if _, ok := p[k].(float64); !ok {
				t.Errorf("stats: port %s: no %s: %v", id, k, p)
			}
		}
		if n, _ := p["ipackets"].(float64); n == 0 {
			t.Errorf("stats: port %s received nothing while forwarding", id)
		}
	}

	caps := decode[telCaps](t, "caps,0", r[1])
	if caps.Error != "" || caps.Port != 0 || caps.Driver != "net_null" || caps.MTU == 0 || caps.Version == 0 {
		t.Errorf("caps,0: port %d driver %q MTU %d version %d error %q", caps.Port, caps.Driver, caps.MTU, caps.Version, caps.Error)
	}
	for dir, rows := range map[string]map[string]telCapRow{"rx": caps.Rx, "tx": caps.Tx} {
		if len(rows) == 0 {
			t.Errorf("caps,0: no %s capabilities", dir)
		}
		for name, row := range rows {
			if row.Dir != dir || row.Name != name || row.PerformedBy == "" {
				t.Errorf("caps,0: %s %s: %+v", dir, name, row)
			}
		}
	}
	if row := caps.Tx["tcp_tso"]; row.Software != 1 {
		t.Errorf("caps,0: tx tcp_tso is not offered in software: %+v", row)
	}

	for i, want := range []string{"no port 9; valid port ids: 0, 1", "no port id given", `port id "zero" is not a number`} {
		e := decode[telCaps](t, "caps error", r[2+i])
		if !strings.Contains(e.Error, want) || fmt.Sprint(e.ValidPorts) != "[0 1]" {
			t.Errorf("caps error %d: %q, valid_ports %v; want it to say %q and list [0 1]", i, e.Error, e.ValidPorts, want)
		}
	}

	tasks := decode[telTasks](t, "tasks", r[5])
	for _, task := range []string{"tso", "uso", "ufo", "ipv4_cksum", "l4_cksum", "gro", "reassembly"} {
		row, ok := tasks.Tasks[task]
		if !ok {
			t.Errorf("tasks: no %s: %s", task, r[5])
			continue
		}
		for _, k := range []string{"software", "hardware", "refused"} {
			if _, ok := row[k]; !ok {
				t.Errorf("tasks: %s has no %s: %v", task, k, row)
			}
		}
	}
	if tasks.Refused == nil || tasks.Dropped == nil {
		t.Errorf("tasks: no refused or dropped dict: %s", r[5])
	}
	if !strings.Contains(string(r[6]), "Offload tasks") {
		t.Errorf("help: %s", r[6])
	}

	_ = cmd.Process.Signal(syscall.SIGINT)
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	select {
	case err := <-done:
		if err != nil {
			t.Errorf("offloadpmd: %v\n%s", err, out.String())
		}
	case <-time.After(30 * time.Second):
		t.Fatalf("offloadpmd did not exit on SIGINT\n%s", out.String())
	}
	if strings.Contains(out.String(), "panic") {
		t.Errorf("output mentions a panic:\n%s", out.String())
	}
}

// TestTelemetryCapsMatchShow: in the same process, /offloadpmd/caps,0 says
// what `show port 0 offload --json` says, row for row.
func TestTelemetryCapsMatchShow(t *testing.T) {
	needRoot(t)
	py := needTelemetryClient(t)
	args := eal(t, "net_null0", "net_null1")
	prefix := filePrefix(t, args)
	cmd := exec.Command(bin, append(args, "--", "-i", "--enable-rx-cksum", "--total-num-mbufs=16384")...)
	stdin, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() { _ = cmd.Process.Kill() }()
	waitTelemetry(t, prefix, &out)
	caps := decode[telCaps](t, "caps,0", telemetry(t, py, prefix, "/offloadpmd/caps,0")[0])
	fmt.Fprintln(stdin, "show port 0 offload --json")
	fmt.Fprintln(stdin, "quit")
	stdin.Close()
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("offloadpmd: %v\n%s", err, out.String())
		}
	case <-time.After(30 * time.Second):
		t.Fatalf("offloadpmd did not quit\n%s", out.String())
	}

	s := out.String()
	i := strings.Index(s, "{\n  \"port\"")
	j := strings.Index(s[max(i, 0):], "\n}")
	if i < 0 || j < 0 {
		t.Fatalf("no JSON table in the output:\n%s", s)
	}
	var show struct {
		Port         uint16
		Driver       string
		Version      uint64
		MTU          uint16
		Capabilities []offload.Entry
	}
	if err := json.Unmarshal([]byte(s[i:i+j+2]), &show); err != nil {
		t.Fatalf("show port 0 offload --json: %v\n%s", err, s[i:i+j+2])
	}
	if caps.Port != show.Port || caps.Driver != show.Driver || caps.Version != show.Version || caps.MTU != show.MTU {
		t.Errorf("telemetry: port %d %s version %d MTU %d; show: port %d %s version %d MTU %d",
			caps.Port, caps.Driver, caps.Version, caps.MTU, show.Port, show.Driver, show.Version, show.MTU)
	}
	b := map[bool]int{true: 1}
	enabled := 0
	for _, e := range show.Capabilities {
		rows := map[string]map[string]telCapRow{"rx": caps.Rx, "tx": caps.Tx}[e.Dir]
		got, ok := rows[e.Name]
		want := telCapRow{e.Dir, e.Name, b[e.Hardware], b[e.Software], b[e.Enabled], e.Performer}
		if !ok || got != want {
			t.Errorf("%s %s: telemetry %+v, show %+v", e.Dir, e.Name, got, want)
		}
		enabled += b[e.Enabled]
	}
	if n := len(caps.Rx) + len(caps.Tx); n != len(show.Capabilities) {
		t.Errorf("telemetry lists %d capabilities, show %d", n, len(show.Capabilities))
	}
	if enabled == 0 {
		t.Errorf("no capability enabled with --enable-rx-cksum: the comparison proves little")
	}
}
