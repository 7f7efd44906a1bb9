package config

import (
	"bytes"
	"fmt"
	"io"
	"strconv"
	"strings"

	"go.yaml.in/yaml/v3"
)

// FileKeys maps the application options the config file also holds to
// their key there. --print-config lists the options given that are not
// here as command-line only.
var FileKeys = map[string]string{
	"forward-mode": "forwarding.engine", "port-topology": "forwarding.topology",
	"nb-cores": "forwarding.nb_cores", "stats-period": "forwarding.stats_period",
	"busy-poll": "forwarding.busy_poll", "pipeline": "forwarding.pipeline", "run-time": "forwarding.run_time",
	"rx-bursts": "forwarding.rx_bursts", "direct-rounds": "forwarding.direct_rounds", "tx-retry": "forwarding.tx_retry", "tx-retry-delay": "forwarding.tx_retry_delay_us",
	"rxq": "queues.rx", "txq": "queues.tx", "rxd": "queues.rxd", "txd": "queues.txd", "burst": "burst",
	"total-num-mbufs": "mbufs.total", "mbuf-size": "mbufs.size", "mbcache": "mbufs.cache",
	"rx-caps": "offloads.rx", "tx-caps": "offloads.tx", "sw-rx": "offloads.software_rx", "sw-tx": "offloads.software_tx",
	"gro-timeout": "assembly.gro_timeout_us", "gro-flows": "assembly.gro_flows",
	"gro-no-verify": "assembly.gro_no_verify", "reassembly-timeout": "assembly.reassembly_timeout_s",
	"tap": "ports[].tap", "log-level": "log_level", "metrics-addr": "metrics_addr",
}

// yamlRules are flow rules by port id.
type yamlRules map[uint16][]string

// The config file's schema, for writing it (reading walks yaml.Nodes).
type (
	yamlFile struct {
		EAL         yamlEAL        `yaml:"eal"`
		Ports       []yamlPort     `yaml:"ports"`
		Offloads    *yamlOffloads  `yaml:"offloads,omitempty"`
		Queues      yamlQueues     `yaml:"queues"`
		Burst       uint16         `yaml:"burst"`
		Mbufs       yamlMbufs      `yaml:"mbufs"`
		Forwarding  yamlForwarding `yaml:"forwarding"`
		Assembly    yamlAssembly   `yaml:"assembly"`
		LogLevel    string         `yaml:"log_level"`
		MetricsAddr string         `yaml:"metrics_addr"`
		SAs         []yamlSA       `yaml:"sas,omitempty"`
		DoS         *yamlDoS       `yaml:"dos,omitempty"`
		Rules       yamlRules      `yaml:"rules,omitempty"`
	}
	yamlEAL struct {
		Lcores     string   `yaml:"lcores"`
		MemoryMB   uint     `yaml:"memory_mb"`
		NoHuge     bool     `yaml:"no_huge"`
		NoPCI      bool     `yaml:"no_pci"`
		FilePrefix string   `yaml:"file_prefix,omitempty"`
		Args       []string `yaml:"args,omitempty,flow"`
	}
	yamlPort struct {
		Devargs  string        `yaml:"devargs,omitempty"`
		Tap      *yamlTap      `yaml:"tap,omitempty"`
		Offloads *yamlOffloads `yaml:"offloads,omitempty"`
		Digest   *yamlDigest   `yaml:"digest,omitempty,flow"`
	}
	yamlTap struct {
		Name    string   `yaml:"name"`
		Netns   string   `yaml:"netns,omitempty"`
		Queues  int      `yaml:"queues"`
		Offload []string `yaml:"offload,omitempty,flow"`
	}
	yamlOffloads struct {
		Rx         []string `yaml:"rx,omitempty,flow"`
		Tx         []string `yaml:"tx,omitempty,flow"`
		SoftwareRx []string `yaml:"software_rx,omitempty,flow"`
		SoftwareTx []string `yaml:"software_tx,omitempty,flow"`
	}
	yamlQueues struct {
		Rx  uint16 `yaml:"rx"`
		Tx  uint16 `yaml:"tx"`
		Rxd uint16 `yaml:"rxd"`
		Txd uint16 `yaml:"txd"`
	}
	yamlMbufs struct {
		Total uint   `yaml:"total"`
		Size  uint16 `yaml:"size"`
		Cache uint   `yaml:"cache"`
	}
	yamlForwarding struct {
		Engine         string `yaml:"engine"`
		Topology       string `yaml:"topology"`
		NbCores        int    `yaml:"nb_cores"`
		StatsPeriod    uint   `yaml:"stats_period"`
		BusyPoll       bool   `yaml:"busy_poll"`
		Pipeline       bool   `yaml:"pipeline"`
		RunTime        uint   `yaml:"run_time"`
		RxBursts       uint16 `yaml:"rx_bursts"`
		DirectRounds   uint16 `yaml:"direct_rounds"`
		TxRetry        uint32 `yaml:"tx_retry"`
		TxRetryDelayUs uint32 `yaml:"tx_retry_delay_us"`
	}
	yamlAssembly struct {
		GROTimeoutUs  uint `yaml:"gro_timeout_us"`
		GROFlows      uint `yaml:"gro_flows"`
		GRONoVerify   bool `yaml:"gro_no_verify"`
		ReassTimeoutS uint `yaml:"reassembly_timeout_s"`
	}
)

func offloadsOf(rx, tx, swRx, swTx []string) *yamlOffloads {
	if len(rx)+len(tx)+len(swRx)+len(swTx) == 0 {
		return nil
	}
	return &yamlOffloads{Rx: rx, Tx: tx, SoftwareRx: swRx, SoftwareTx: swTx}
}

// ealOf turns EAL arguments back into an eal section and the vdevs.
func ealOf(eal []string, ownPrefix bool) (e ealSection, vdevs []string) {
	hasPrefix := false
	for i := 0; i < len(eal); i++ {
		a := eal[i]
		next := func() (string, bool) {
			if i+1 < len(eal) {
				i++
				return eal[i], true
			}
			return "", false
		}
		switch {
		case a == "--no-huge":
			e.NoHuge = true
		case a == "--no-pci":
			e.NoPCI = true
		case a == "-l" || a == "--vdev" || a == "--file-prefix" || a == "-m":
			v, ok := next()
			if !ok {
				e.Args = append(e.Args, a)
				continue
			}
			switch a {
			case "-l":
				e.Lcores = v
			case "--vdev":
				vdevs = append(vdevs, v)
			case "--file-prefix":
				e.FilePrefix, hasPrefix = v, true
			case "-m":
				if n, err := strconv.ParseUint(v, 10, 32); err == nil {
					e.MemoryMB = uint(n)
				} else {
					e.Args = append(e.Args, a, v)
				}
			}
		case strings.HasPrefix(a, "--vdev="):
			vdevs = append(vdevs, strings.TrimPrefix(a, "--vdev="))
		case strings.HasPrefix(a, "--file-prefix="):
			e.FilePrefix, hasPrefix = strings.TrimPrefix(a, "--file-prefix="), true
		case strings.HasPrefix(a, "-l") && !strings.HasPrefix(a, "--"):
			e.Lcores = a[2:]
		case strings.HasPrefix(a, "-m") && !strings.HasPrefix(a, "--") && isDigits(a[2:]):
			n, _ := strconv.ParseUint(a[2:], 10, 32)
			e.MemoryMB = uint(n)
		default:
			e.Args = append(e.Args, a)
		}
	}
	switch {
	case ownPrefix:
		e.FilePrefix = ""
	case !hasPrefix:
		e.FilePrefix = "rte" // EAL's own default
	}
	return e, vdevs
}

func isDigits(s string) bool { return s != "" && strings.Trim(s, "0123456789") == "" && len(s) < 10 }

// fileOf is c in the config file's schema.
func (c *Config) fileOf() yamlFile {
	e, vdevs := ealOf(c.EAL, c.EALDefaulted)
	f := yamlFile{
		EAL: yamlEAL{Lcores: e.Lcores, MemoryMB: e.MemoryMB, NoHuge: e.NoHuge, NoPCI: e.NoPCI,
			FilePrefix: e.FilePrefix, Args: e.Args},
		Ports:    []yamlPort{},
		Offloads: offloadsOf(c.RxCaps, c.TxCaps, c.SwRx, c.SwTx),
		Queues:   yamlQueues{Rx: c.RxQueues, Tx: c.TxQueues, Rxd: c.RxDesc, Txd: c.TxDesc},
		Burst:    c.Burst,
		Mbufs:    yamlMbufs{Total: c.TotalNumMbufs, Size: c.MbufSize, Cache: c.MbufCache},
		Forwarding: yamlForwarding{Engine: c.ForwardMode, Topology: c.Topology.String(), NbCores: c.NbCores,
			StatsPeriod: c.StatsPeriod, BusyPoll: c.BusyPoll, Pipeline: c.Pipeline, RunTime: c.RunTime,
			RxBursts: c.RxBursts, DirectRounds: c.DirectRounds, TxRetry: c.TxRetry, TxRetryDelayUs: c.TxRetryDelayUs},
		Assembly: yamlAssembly{GROTimeoutUs: c.GROTimeoutUs, GROFlows: c.GROFlows, GRONoVerify: c.GRONoVerify,
			ReassTimeoutS: c.ReassTimeoutS},
		LogLevel:    c.LogLevel,
		MetricsAddr: c.MetricsAddr,
		SAs:         sasOf(c.SAs),
		DoS:         dosOf(c.DoS),
		Rules:       rulesOf(c.Rules),
	}
	portOffloads := func(id uint16) *yamlOffloads {
		w := c.PortOffloads[id]
		return offloadsOf(w.Rx, w.Tx, w.SoftwareRx, w.SoftwareTx)
	}
	for i, v := range vdevs {
		f.Ports = append(f.Ports, yamlPort{Devargs: v, Offloads: portOffloads(uint16(i)), Digest: c.digestOf(uint16(i))})
	}
	for i, t := range c.Taps {
		f.Ports = append(f.Ports, yamlPort{
			Tap:      &yamlTap{Name: t.Name, Netns: t.Netns, Queues: t.Queues, Offload: t.Offload},
			Offloads: portOffloads(uint16(FirstTapPort + i)),
			Digest:   c.digestOf(uint16(FirstTapPort + i)),
		})
	}
	return f
}

// WriteYAML writes c as a config file: --print-config. Loaded with
// --config (and the command-line-only options it lists, if any) it gives c
// back.
func (c *Config) WriteYAML(w io.Writer) error {
	var b bytes.Buffer
	b.WriteString("# offloadpmd configuration (--print-config); run it with: offloadpmd -- --config FILE\n")
	if len(c.CmdlineOnly) > 0 {
		fmt.Fprintf(&b, "# Also given, command line only: %s\n", strings.Join(c.CmdlineOnly, " "))
	}
	enc := yaml.NewEncoder(&b)
	enc.SetIndent(2)
	if err := enc.Encode(c.fileOf()); err != nil {
		return err
	}
	if err := enc.Close(); err != nil {
		return err
	}
	_, err := w.Write(b.Bytes())
	return err
}
