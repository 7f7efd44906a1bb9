package main

import (
	"bytes"
	"fmt"
	"io"
	"net"
	"net/http"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil/promlint"
	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"

	"github.com/offloadpmd/offloadpmd/config"
	"github.com/offloadpmd/offloadpmd/offload"
	"github.com/offloadpmd/offloadpmd/pipeline"
	"github.com/offloadpmd/offloadpmd/pmd"
)

// families is one scrape, by metric name.
type families map[string]*dto.MetricFamily

func parseMetrics(t *testing.T, r io.Reader) families {
	t.Helper()
	p := expfmt.NewTextParser(model.UTF8Validation)
	mfs, err := p.TextToMetricFamilies(r)
	if err != nil {
		t.Fatalf("parse /metrics: %v", err)
	}
	return mfs
}

// value is the value of the series of name whose labels include want
// ("k=v" pairs); ok is false if there is none.
func (f families) value(name string, want ...string) (v float64, ok bool) {
	mf := f[name]
	if mf == nil {
		return 0, false
	}
next:
	for _, m := range mf.GetMetric() {
		have := map[string]string{}
		for _, l := range m.GetLabel() {
			have[l.GetName()] = l.GetValue()
		}
		for _, kv := range want {
			k, v, _ := strings.Cut(kv, "=")
			if have[k] != v {
				continue next
			}
		}
		switch mf.GetType() {
		case dto.MetricType_COUNTER:
			return m.GetCounter().GetValue(), true
		case dto.MetricType_GAUGE:
			return m.GetGauge().GetValue(), true
		default:
			return m.GetUntyped().GetValue(), true
		}
	}
	return 0, false
}

// labels lists the values label takes in name's series.
func (f families) labels(name, label string) map[string]bool {
	out := map[string]bool{}
	if mf := f[name]; mf != nil {
		for _, m := range mf.GetMetric() {
			for _, l := range m.GetLabel() {
				if l.GetName() == label {
					out[l.GetValue()] = true
				}
			}
		}
	}
	return out
}

// checkTypes checks every offloadpmd_ family: counters end in _total, the
// rest are gauges.
func checkTypes(t *testing.T, f families) {
	t.Helper()
	n := 0
	for name, mf := range f {
		if !strings.HasPrefix(name, "offloadpmd_") {
			continue
		}
		n++
		want := dto.MetricType_GAUGE
		if strings.HasSuffix(name, "_total") {
			want = dto.MetricType_COUNTER
		}
		if mf.GetType() != want {
			t.Errorf("%s is a %v, want a %v", name, mf.GetType(), want)
		}
	}
	if n == 0 {
		t.Errorf("no offloadpmd_ metrics")
	}
}

// lint runs promlint, Prometheus's naming checker, over our families.
func lint(t *testing.T, f families) {
	t.Helper()
	var mfs []*dto.MetricFamily
	for name, mf := range f {
		if strings.HasPrefix(name, "offloadpmd_") {
			mfs = append(mfs, mf)
		}
	}
	problems, err := promlint.NewWithMetricFamilies(mfs).Lint()
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range problems {
		t.Errorf("promlint: %s: %s", p.Metric, p.Text)
	}
}

// fakeSnapshot is a snapshot with an ethdev port, a TAP port and some
// pipeline counters set.
func fakeSnapshot() snapshot {
	n := 0
	for _, c := range pipeline.AllCounters() {
		n = max(n, int(c)+1)
	}
	s := snapshot{At: time.Now(), Engine: "csum", Running: true, Counters: make([]uint64, n)}
	s.Counters[pipeline.SoftwareTask(offload.TaskTSO)] = 7
	s.Counters[pipeline.HardwareTask(offload.TaskL4Cksum)] = 11
	s.Counters[pipeline.RefusedTask(offload.TaskUSO)] = 3
	s.Counters[pipeline.Refused(offload.RefDisabled)] = 3
	s.Counters[pipeline.DropRuntFrame] = 5
	s.Counters[pipeline.GROMerged] = 13
	s.Ports = []portSnapshot{
		{ID: 0, Name: "net_null0", Driver: "net_null", LinkUp: true, Stats: pmd.Stats{IPackets: 100, OPackets: 90, IBytes: 6400, RxNoMbuf: 2}},
		{ID: 64, Name: "opmd0", Driver: "net_opmdtap", Kernel: true, Netns: "ns1", Stats: pmd.Stats{IPackets: 1}},
	}
	return s
}

// TestMetricsCollector: the collector turns a snapshot into the families
// the README lists, with the right types, names that pass promlint, and
// every pipeline counter in one family; a busy app gives scrape_ok 0.
func TestMetricsCollector(t *testing.T) {
	scrape := func(snap func() (snapshot, error)) families {
		mfs, err := metricsRegistry(snap).Gather()
		if err != nil {
			t.Fatal(err)
		}
		f := families{}
		for _, mf := range mfs {
			f[mf.GetName()] = mf
		}
		return f
	}
	f := scrape(func() (snapshot, error) { return fakeSnapshot(), nil })
	checkTypes(t, f)
	lint(t, f)
	for _, c := range []struct {
		name   string
		labels []string
		want   float64
	}{
		{"offloadpmd_scrape_ok", nil, 1},
		{"offloadpmd_forwarding_running", nil, 1},
		{"offloadpmd_engine_info", []string{"engine=csum"}, 1},
		{"offloadpmd_port_rx_packets_total", []string{"port=0", "name=net_null0", "driver=net_null", "kind=ethdev"}, 100},
		{"offloadpmd_port_tx_packets_total", []string{"port=0"}, 90},
		{"offloadpmd_port_rx_bytes_total", []string{"port=0"}, 6400},
		{"offloadpmd_port_rx_nombuf_total", []string{"port=0"}, 2},
		{"offloadpmd_port_link_up", []string{"port=0"}, 1},
		{"offloadpmd_port_rx_packets_total", []string{"port=64", "name=opmd0", "driver=net_opmdtap", "kind=tap"}, 1},
		{"offloadpmd_port_link_up", []string{"port=64"}, 0},
		{"offloadpmd_task_software_packets_total", []string{"task=tso"}, 7},
		{"offloadpmd_task_hardware_packets_total", []string{"task=l4_cksum"}, 11},
		{"offloadpmd_task_refused_packets_total", []string{"task=uso"}, 3},
		{"offloadpmd_refused_packets_total", []string{"reason=disabled"}, 3},
		{"offloadpmd_dropped_packets_total", []string{"reason=drop-runt-frame"}, 5},
		{"offloadpmd_pipeline_events_total", []string{"counter=gro-merged"}, 13},
	} {
		if v, ok := f.value(c.name, c.labels...); !ok || v != c.want {
			t.Errorf("%s%v = %v (present %v), want %v", c.name, c.labels, v, ok, c.want)
		}
	}
	// Every named pipeline counter is exported once, in one family.
	seen := map[string]int{}
	for _, fam := range []string{"offloadpmd_refused_packets_total", "offloadpmd_dropped_packets_total", "offloadpmd_pipeline_events_total"} {
		for _, m := range f[fam].GetMetric() {
			l := m.GetLabel()[0].GetValue()
			if l == "" {
				t.Errorf("%s has a series with an empty %s", fam, m.GetLabel()[0].GetName())
			}
			seen[l]++
		}
	}
	for _, c := range pipeline.AllCounters() {
		name := c.String()
		if strings.HasPrefix(name, "software-") || strings.HasPrefix(name, "hardware-") || strings.HasPrefix(name, "refused-task-") {
			continue // the task family
		}
		name = strings.TrimPrefix(name, "refused-")
		if seen[name] != 1 {
			t.Errorf("pipeline counter %s exported %d times", c, seen[name])
		}
	}
	if _, ok := f["go_goroutines"]; !ok {
		t.Errorf("no Go runtime metrics")
	}

	busy := scrape(func() (snapshot, error) { return snapshot{}, errBusy })
	if v, ok := busy.value("offloadpmd_scrape_ok"); !ok || v != 0 {
		t.Errorf("busy: scrape_ok %v (present %v), want 0", v, ok)
	}
	if _, ok := busy["offloadpmd_port_rx_packets_total"]; ok {
		t.Errorf("busy: port metrics reported without a snapshot")
	}
}

// TestMetricsQuery: the collector's snapshot goes through query, so a
// command goroutine that is not taking requests gives scrape_ok 0 after
// queryWait rather than a hung scrape, and one that is gives the state.
func TestMetricsQuery(t *testing.T) {
	cfg := config.Defaults()
	a := newApp(&cfg, strings.NewReader(""), io.Discard, io.Discard)
	a.engine = &pipeline.IOEngine
	reg := metricsRegistry(a.metricsSnapshot)
	gather := func() families {
		mfs, err := reg.Gather()
		if err != nil {
			t.Fatal(err)
		}
		f := families{}
		for _, mf := range mfs {
			f[mf.GetName()] = mf
		}
		return f
	}
	start := time.Now()
	f := gather()
	if v, ok := f.value("offloadpmd_scrape_ok"); !ok || v != 0 {
		t.Errorf("nobody serving: scrape_ok %v (present %v), want 0", v, ok)
	}
	if d := time.Since(start); d < queryWait || d > queryWait+time.Second {
		t.Errorf("nobody serving: the scrape took %v, want about %v", d, queryWait)
	}

	stop := make(chan struct{})
	defer close(stop)
	go func() { // the command goroutine, between commands
		for {
			select {
			case f := <-a.requests:
				f()
			case <-stop:
				return
			}
		}
	}()
	f = gather()
	if v, ok := f.value("offloadpmd_scrape_ok"); !ok || v != 1 {
		t.Errorf("serving: scrape_ok %v (present %v), want 1", v, ok)
	}
	if v, ok := f.value("offloadpmd_engine_info", "engine=io"); !ok || v != 1 {
		t.Errorf("serving: engine_info{engine=io} %v (present %v)", v, ok)
	}
	if v, ok := f.value("offloadpmd_forwarding_running"); !ok || v != 0 {
		t.Errorf("serving, not forwarding: forwarding_running %v (present %v), want 0", v, ok)
	}
}

// freePort is a TCP port on loopback nobody listens on now.
func freePort(t *testing.T) int {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port
}

// scrapeMetrics GETs /metrics and parses it.
func scrapeMetrics(t *testing.T, url string) (families, error) {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		b, _ := io.ReadAll(resp.Body)
		return nil, fmt.Errorf("%s: %s\n%s", url, resp.Status, b)
	}
	return parseMetrics(t, resp.Body), nil
}

// TestMetricsEndpoint runs the binary on two net_null ports with
// --metrics-addr, non-interactive and at the prompt, and scrapes /metrics
// while it forwards: both ports' counters and every task are there, of
// the right types, and the RX counters grow between two scrapes.
func TestMetricsEndpoint(t *testing.T) {
	needRoot(t)
	for _, mode := range []struct {
		name string
		args []string
	}{
		{"non-interactive", nil},
		{"interactive", []string{"-i", "--auto-start"}},
	} {
		t.Run(mode.name, func(t *testing.T) {
			addr := fmt.Sprintf("127.0.0.1:%d", freePort(t))
			url := "http://" + addr + "/metrics"
			args := append(eal(t, "net_null0", "net_null1"), "--", "--total-num-mbufs=16384", "--metrics-addr="+addr)
			cmd := exec.Command(bin, append(args, mode.args...)...)
			stdin, err := cmd.StdinPipe()
			if err != nil {
				t.Fatal(err)
			}
			var out, errb bytes.Buffer
			cmd.Stdout, cmd.Stderr = &out, &errb
			if err := cmd.Start(); err != nil {
				t.Fatal(err)
			}
			exited := make(chan error, 1)
			go func() { exited <- cmd.Wait() }()
			defer func() {
				if cmd.ProcessState == nil {
					_ = cmd.Process.Kill()
					<-exited
				}
			}()

			// Wait until it listens and forwards.
			var first families
			deadline := time.Now().Add(30 * time.Second)
			for {
				f, err := scrapeMetrics(t, url)
				if err == nil {
					if v, _ := f.value("offloadpmd_forwarding_running"); v == 1 {
						first = f
						break
					}
				}
				if time.Now().After(deadline) {
					t.Fatalf("no forwarding seen on %s within 30 s (last error %v)\nstdout:\n%s\nstderr:\n%s", url, err, out.String(), errb.String())
				}
				time.Sleep(200 * time.Millisecond)
			}
			time.Sleep(500 * time.Millisecond)
			second, err := scrapeMetrics(t, url)
			if err != nil {
				t.Fatal(err)
			}

			for _, f := range []families{first, second} {
				checkTypes(t, f)
				if v, ok := f.value("offloadpmd_scrape_ok"); !ok || v != 1 {
					t.Errorf("scrape_ok %v, want 1", v)
				}
				if v, ok := f.value("offloadpmd_engine_info", "engine=io"); !ok || v != 1 {
					t.Errorf("engine_info{engine=io} %v (present %v)", v, ok)
				}
				if _, ok := f["process_resident_memory_bytes"]; !ok {
					t.Errorf("no process metrics")
				}
			}
			lint(t, second)
			for _, port := range []string{"0", "1"} {
				name := "name=net_null" + port
				for _, m := range []string{"offloadpmd_port_tx_packets_total", "offloadpmd_port_rx_bytes_total", "offloadpmd_port_tx_bytes_total",
					"offloadpmd_port_rx_missed_packets_total", "offloadpmd_port_rx_errors_total", "offloadpmd_port_tx_errors_total",
					"offloadpmd_port_rx_nombuf_total", "offloadpmd_port_link_up"} {
					if _, ok := second.value(m, "port="+port, name, "driver=net_null", "kind=ethdev"); !ok {
						t.Errorf("no %s for port %s", m, port)
					}
				}
				rx1, ok1 := first.value("offloadpmd_port_rx_packets_total", "port="+port, name, "kind=ethdev")
				rx2, ok2 := second.value("offloadpmd_port_rx_packets_total", "port="+port, name, "kind=ethdev")
				if !ok1 || !ok2 || rx2 <= rx1 {
					t.Errorf("port %s rx packets %v then %v (present %v %v): want growth while forwarding", port, rx1, rx2, ok1, ok2)
				}
			}
			for _, fam := range []string{"offloadpmd_task_software_packets_total", "offloadpmd_task_hardware_packets_total", "offloadpmd_task_refused_packets_total"} {
				have := second.labels(fam, "task")
				for _, r := range taskRows(nil) {
					if !have[r.Task] {
						t.Errorf("%s lacks task %q", fam, r.Task)
					}
				}
			}
			for _, fam := range []string{"offloadpmd_refused_packets_total", "offloadpmd_dropped_packets_total", "offloadpmd_pipeline_events_total"} {
				if len(second[fam].GetMetric()) == 0 {
					t.Errorf("no %s series", fam)
				}
			}

			stdin.Close() // EOF ends both modes
			select {
			case err := <-exited:
				if err != nil {
					t.Fatalf("exit: %v\nstderr:\n%s", err, errb.String())
				}
			case <-time.After(30 * time.Second):
				t.Fatalf("no exit after stdin closed\nstdout:\n%s\nstderr:\n%s", out.String(), errb.String())
			}
			if !strings.Contains(errb.String(), addr) {
				t.Errorf("the log does not give the metrics address %s:\n%s", addr, errb.String())
			}
			if _, err := http.Get(url); err == nil {
				t.Errorf("%s still answers after exit", url)
			}
		})
	}
}

// TestMetricsAddrInUse: a --metrics-addr someone else listens on is a
// startup error naming the address, and the ports still close cleanly.
func TestMetricsAddrInUse(t *testing.T) {
	needRoot(t)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	addr := ln.Addr().String()
	r := runBin(t, "", 60*time.Second, append(eal(t, "net_null0", "net_null1"), "--", "--total-num-mbufs=16384", "--metrics-addr="+addr, "--run-time=5")...)
	noPanic(t, r)
	if r.code == 0 {
		t.Fatalf("exit 0 with %s taken, want an error\nstdout:\n%s", addr, r.stdout)
	}
	if want := "--metrics-addr " + addr; !strings.Contains(r.stderr, want) || !strings.Contains(r.stderr, "address already in use") {
		t.Errorf("stderr does not say %q and why:\n%s", want, r.stderr)
	}
	if !strings.Contains(r.stdout, "Port 1 is closed") {
		t.Errorf("ports not closed:\n%s", r.stdout)
	}
}
