package main

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"strconv"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"github.com/rs/zerolog/log"

	"github.com/offloadpmd/offloadpmd/offload"
	"github.com/offloadpmd/offloadpmd/pipeline"
	"github.com/offloadpmd/offloadpmd/pmd"
)

// Prometheus /metrics (--metrics-addr). Each scrape takes one snapshot on
// the command goroutine (query), so every figure of a scrape is from the
// same moment. The families:
//
//	offloadpmd_port_{rx,tx}_{packets,bytes}_total   port counters, labels port, name, driver, kind (ethdev|tap)
//	offloadpmd_port_rx_missed_packets_total         ... imissed: the RX queue was full
//	offloadpmd_port_{rx,tx}_errors_total            ... ierrors, oerrors
//	offloadpmd_port_rx_nombuf_total                 ... RX mbuf allocation failures
//	offloadpmd_port_link_up                         gauge, 1 if the link is up
//	offloadpmd_task_{software,hardware,refused}_packets_total{task}
//	offloadpmd_refused_packets_total{reason}        packets dropped because a request was refused
//	offloadpmd_dropped_packets_total{reason}        the pipeline's other drops (counter names)
//	offloadpmd_pipeline_events_total{counter}       every other pipeline counter (gro-merged, seg-outputs, ...)
//	offloadpmd_forwarding_running                   gauge
//	offloadpmd_engine_info{engine}                  gauge, always 1
//	offloadpmd_scrape_ok                            gauge, 0 if the snapshot could not be taken
//
// Every packet the pipeline frees without sending is counted in exactly one
// of offloadpmd_refused_packets_total and offloadpmd_dropped_packets_total.
// Pipeline counters count from the start of the process (counterTotals);
// port counters are the device's, which `clear port stats` zeroes (a
// counter reset, which rate() handles).
//
// When the command goroutine does not take the request within queryWait
// (setting up, or a long command), the scrape still answers, with
// offloadpmd_scrape_ok 0 and the Go and process metrics only: Prometheus
// sees the offloadpmd series go missing for that scrape rather than the
// target go down.

func metricDesc(name, help string, labels ...string) *prometheus.Desc {
	return prometheus.NewDesc(prometheus.BuildFQName("offloadpmd", "", name), help, labels, nil)
}

var portLabels = []string{"port", "name", "driver", "kind"}

// portMetric is one port counter and where a snapshot keeps it.
type portMetric struct {
	desc  *prometheus.Desc
	value func(pmd.Stats) uint64
}

var portMetrics = []portMetric{
	{metricDesc("port_rx_packets_total", "Packets the port received.", portLabels...), func(s pmd.Stats) uint64 { return s.IPackets }},
	{metricDesc("port_tx_packets_total", "Packets the port sent.", portLabels...), func(s pmd.Stats) uint64 { return s.OPackets }},
	{metricDesc("port_rx_bytes_total", "Bytes the port received.", portLabels...), func(s pmd.Stats) uint64 { return s.IBytes }},
	{metricDesc("port_tx_bytes_total", "Bytes the port sent.", portLabels...), func(s pmd.Stats) uint64 { return s.OBytes }},
	{metricDesc("port_rx_missed_packets_total", "Packets the device dropped because the RX queue was full (imissed).", portLabels...), func(s pmd.Stats) uint64 { return s.IMissed }},
	{metricDesc("port_rx_errors_total", "Erroneous packets the port received (ierrors).", portLabels...), func(s pmd.Stats) uint64 { return s.IErrors }},
	{metricDesc("port_tx_errors_total", "Packets the port failed to send (oerrors).", portLabels...), func(s pmd.Stats) uint64 { return s.OErrors }},
	{metricDesc("port_rx_nombuf_total", "RX mbuf allocation failures (rx_nombuf).", portLabels...), func(s pmd.Stats) uint64 { return s.RxNoMbuf }},
}

var (
	descLinkUp       = metricDesc("port_link_up", "1 if the port's link is up, else 0.", portLabels...)
	descTaskSoftware = metricDesc("task_software_packets_total", "Packets whose task offloadpmd performed in software.", "task")
	descTaskHardware = metricDesc("task_hardware_packets_total", "Packets whose task was left to the egress device.", "task")
	descTaskRefused  = metricDesc("task_refused_packets_total", "Packets refused because the task was asked for and not enabled, or had no performer.", "task")
	descRefused      = metricDesc("refused_packets_total", "Packets dropped because their offload request was refused, by reason.", "reason")
	descDropped      = metricDesc("dropped_packets_total", "Packets the pipeline freed without sending for a reason other than a refused request, by pipeline counter.", "reason")
	descEvents       = metricDesc("pipeline_events_total", "The pipeline's other counters (work done, assembly, requests seen), by counter name.", "counter")
	descRunning      = metricDesc("forwarding_running", "1 while packet forwarding runs, else 0.")
	descEngine       = metricDesc("engine_info", "The forwarding engine (set fwd), as a label; the value is always 1.", "engine")
	descScrapeOK     = metricDesc("scrape_ok", "1 if this scrape read offloadpmd's state; 0 if offloadpmd was busy (setting up or running a long command) and its other metrics are missing.")
	fixedMetricDescs = []*prometheus.Desc{descLinkUp, descTaskSoftware, descTaskHardware, descTaskRefused, descRefused, descDropped, descEvents, descRunning, descEngine, descScrapeOK}
	pipelineCounters = exportedCounters()
)

// exportedCounter is a pipeline counter, the family it is exported in and
// its label value.
type exportedCounter struct {
	c     pipeline.Counter
	desc  *prometheus.Desc
	label string
}

// exportedCounters sorts every named pipeline counter into its family: the
// per-task counters are left to the task family (taskRows), refusals are
// labelled by their reason, the other drops and the events by their
// counter's name.
func exportedCounters() []exportedCounter {
	skip := map[pipeline.Counter]bool{}
	for t := offload.Task(1); int(t) < offload.NumTasks; t++ {
		skip[pipeline.SoftwareTask(t)] = true
		skip[pipeline.HardwareTask(t)] = true
		skip[pipeline.RefusedTask(t)] = true
	}
	var out []exportedCounter
	for _, r := range offload.Refusals() {
		out = append(out, exportedCounter{pipeline.Refused(r), descRefused, r.String()})
		skip[pipeline.Refused(r)] = true
	}
	for _, c := range pipeline.AllCounters() {
		switch {
		case skip[c]:
		case c.IsDrop():
			out = append(out, exportedCounter{c, descDropped, c.String()})
		default:
			out = append(out, exportedCounter{c, descEvents, c.String()})
		}
	}
	return out
}

// metricsCollector is the app's prometheus.Collector.
type metricsCollector struct {
	// snap takes a snapshot (on the command goroutine) or says why not.
	snap func() (snapshot, error)
}

// Describe implements prometheus.Collector.
func (m *metricsCollector) Describe(ch chan<- *prometheus.Desc) {
	for _, p := range portMetrics {
		ch <- p.desc
	}
	for _, d := range fixedMetricDescs {
		ch <- d
	}
}

// Collect implements prometheus.Collector: one snapshot per scrape.
func (m *metricsCollector) Collect(ch chan<- prometheus.Metric) {
	s, err := m.snap()
	if err != nil {
		log.Debug().Err(err).Msg("metrics scrape without a snapshot")
		ch <- prometheus.MustNewConstMetric(descScrapeOK, prometheus.GaugeValue, 0)
		return
	}
	ch <- prometheus.MustNewConstMetric(descScrapeOK, prometheus.GaugeValue, 1)
	ch <- prometheus.MustNewConstMetric(descRunning, prometheus.GaugeValue, boolGauge(s.Running))
	if s.Engine != "" {
		ch <- prometheus.MustNewConstMetric(descEngine, prometheus.GaugeValue, 1, s.Engine)
	}
	for _, p := range s.Ports {
		kind := "ethdev"
		if p.Kernel {
			kind = "tap"
		}
		lv := []string{strconv.Itoa(int(p.ID)), p.Name, p.Driver, kind}
		for _, pm := range portMetrics {
			ch <- prometheus.MustNewConstMetric(pm.desc, prometheus.CounterValue, float64(pm.value(p.Stats)), lv...)
		}
		ch <- prometheus.MustNewConstMetric(descLinkUp, prometheus.GaugeValue, boolGauge(p.LinkUp), lv...)
	}
	for _, r := range taskRows(s.Counters) {
		ch <- prometheus.MustNewConstMetric(descTaskSoftware, prometheus.CounterValue, float64(r.Software), r.Task)
		ch <- prometheus.MustNewConstMetric(descTaskHardware, prometheus.CounterValue, float64(r.Hardware), r.Task)
		ch <- prometheus.MustNewConstMetric(descTaskRefused, prometheus.CounterValue, float64(r.Refused), r.Task)
	}
	for _, e := range pipelineCounters {
		var v uint64
		if int(e.c) < len(s.Counters) {
			v = s.Counters[e.c]
		}
		ch <- prometheus.MustNewConstMetric(e.desc, prometheus.CounterValue, float64(v), e.label)
	}
}

func boolGauge(b bool) float64 {
	if b {
		return 1
	}
	return 0
}

// metricsSnapshot is the collector's snap for the running app.
func (a *app) metricsSnapshot() (snapshot, error) {
	var s snapshot
	err := a.query(func() { s = a.snapshot() })
	return s, err
}

// metricsRegistry holds the app's collector and the Go runtime's and the
// process's (GC pauses and memory matter to a Go packet processor).
func metricsRegistry(snap func() (snapshot, error)) *prometheus.Registry {
	reg := prometheus.NewRegistry()
	reg.MustRegister(
		collectors.NewGoCollector(),
		collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
		&metricsCollector{snap: snap},
	)
	return reg
}

// promLog passes promhttp's errors to zerolog.
type promLog struct{}

func (promLog) Println(v ...any) { log.Error().Msg(fmt.Sprint(v...)) }

// startMetrics listens on addr and serves /metrics until stop is called.
func (a *app) startMetrics(addr string) (stop func(), err error) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("--metrics-addr %s: %w", addr, err)
	}
	mux := http.NewServeMux()
	mux.Handle("/metrics", promhttp.HandlerFor(metricsRegistry(a.metricsSnapshot), promhttp.HandlerOpts{
		ErrorLog:            promLog{},
		ErrorHandling:       promhttp.ContinueOnError,
		MaxRequestsInFlight: 4,
	}))
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 5 * time.Second}
	go func() {
		if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			log.Error().Err(err).Str("addr", ln.Addr().String()).Msg("metrics server")
		}
	}()
	log.Info().Str("addr", ln.Addr().String()).Msgf("serving Prometheus metrics at http://%s/metrics", ln.Addr())
	return func() {
		// A scrape waiting for the command goroutine gives up after
		// queryWait; wait that long for it, then cut the connections.
		ctx, cancel := context.WithTimeout(context.Background(), queryWait+time.Second)
		defer cancel()
		if err := srv.Shutdown(ctx); err != nil {
			_ = srv.Close()
		}
	}, nil
}
