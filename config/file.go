package config

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"regexp"
	"slices"
	"strconv"
	"strings"

	"go.yaml.in/yaml/v3"

	"github.com/offloadpmd/offloadpmd/offload"
)

// The config file (--config FILE) is YAML in the schema of
// config/default.yaml, whose comments, with those of config/examples/,
// document every key. It is read at the yaml.Node level, so every error
// names the file, line, column and field, and says what is allowed there.
//
// Merge rule: the file is applied over Defaults(), then the command line's
// application options over the file, in their order; list options
// (--rx-caps, --tap, ...) add to the file's lists. EAL: EAL arguments on the
// command line (before "--") replace the file's eal section; without them
// the file's eal section is used (its keys over the embedded defaults),
// and without either the embedded default DefaultEAL(). The file's vdev
// ports are added after those EAL arguments as --vdev; a file without a
// ports key keeps the embedded default's two net_null ports, unless the
// command line gave EAL arguments.

// ErrConfigFile is wrapped by every error about the config file.
var ErrConfigFile = errors.New("config file")

// FileError is one problem at one place of a config file.
type FileError struct {
	File         string
	Line, Column int    // 1-based; 0: the file as a whole
	Field        string // dotted path, "ports[1].offloads.tx"; "": the document
	Msg          string
}

func (e *FileError) Error() string {
	var b strings.Builder
	b.WriteString(e.File)
	if e.Line > 0 {
		fmt.Fprintf(&b, ":%d", e.Line)
		if e.Column > 0 {
			fmt.Fprintf(&b, ":%d", e.Column)
		}
	}
	b.WriteString(": ")
	if e.Field != "" {
		b.WriteString(e.Field + ": ")
	}
	b.WriteString(e.Msg)
	return b.String()
}

// Unwrap makes every FileError match ErrConfigFile.
func (e *FileError) Unwrap() error { return ErrConfigFile }

// PortWanted is one port's own wanted offloads (a config file's
// ports[i].offloads), added to those every port gets (RxCaps, TxCaps,
// SwRx, SwTx). Names are canonical capability names.
type PortWanted struct {
	// Device is the port's vdev or TAP name: the port id is worked out from
	// the order of the ports, and the command checks it found this device.
	Device     string
	Rx, Tx     []string // capabilities to enable
	SoftwareRx []string // to perform in software even where the device could
	SoftwareTx []string
}

// FirstTapPort is the port id of the first TAP port (pmd.FirstGoPort;
// cmd/offloadpmd checks they agree). TAP ports take ids from it up in the
// order they are given; ethdev ports, vdevs included, are below it.
const FirstTapPort = 32

// maxTapPorts is pmd.MaxGoPorts, maxEthPorts RTE_MAX_ETHPORTS.
const (
	maxTapPorts = 32
	maxEthPorts = 32
)

// KnownEngines, when set (the command sets it from pipeline.Engines), are
// the forward modes a config file may name; the package cannot import the
// pipeline, which imports it.
var KnownEngines []string

// ealSection is a config file's eal section.
type ealSection struct {
	Lcores     string // -l; "": none
	MemoryMB   uint   // -m; 0: none
	NoHuge     bool
	NoPCI      bool
	FilePrefix string // "": one of the process's own, removed at exit
	Args       []string
}

func defaultEALSection() ealSection {
	return ealSection{Lcores: "0-1", MemoryMB: 1024, NoHuge: true, NoPCI: true}
}

// ownFilePrefix is the file prefix offloadpmd picks when none is given.
func ownFilePrefix() string { return fmt.Sprintf("offloadpmd_%d", os.Getpid()) }

// args are the EAL arguments of the section, without vdevs.
func (e ealSection) args() []string {
	var a []string
	if e.Lcores != "" {
		a = append(a, "-l", e.Lcores)
	}
	if e.NoHuge {
		a = append(a, "--no-huge")
	}
	if e.MemoryMB > 0 {
		a = append(a, "-m", strconv.FormatUint(uint64(e.MemoryMB), 10))
	}
	if e.NoPCI {
		a = append(a, "--no-pci")
	}
	p := e.FilePrefix
	if p == "" {
		p = ownFilePrefix()
	}
	a = append(a, "--file-prefix", p)
	return append(a, e.Args...)
}

// defaultVdevs are the embedded default's ports.
var defaultVdevs = []string{"net_null0", "net_null1"}

// filePort is one entry of a config file's ports.
type filePort struct {
	vdev   string   // devargs, or
	tap    *TapSpec // a kernel-facing TAP
	want   *PortWanted
	digest *DigestSpec // digest.go
}

// fileConfig is what a config file says beyond the Config fields it sets
// directly: the EAL and the ports, merged with the command line by Parse.
type fileConfig struct {
	name      string
	hasEAL    bool
	eal       ealSection
	hasPorts  bool
	portsLine int
	ports     []filePort
}

// maxFileErrors bounds the errors reported for one file.
const maxFileErrors = 20

type loader struct {
	f    *fileConfig
	c    *Config
	errs []error
}

// readFile loads the config file name onto c.
func readFile(name string, c *Config) (*fileConfig, error) {
	data, err := os.ReadFile(name)
	if err != nil {
		var pe *os.PathError
		if errors.As(err, &pe) {
			err = pe.Err
		}
		return nil, &FileError{File: name, Msg: "cannot read: " + err.Error()}
	}
	return loadBytes(name, data, c)
}

var yamlLine = regexp.MustCompile(`^yaml: line (\d+): `)

// loadBytes loads a config file's contents onto c; name is for errors.
func loadBytes(name string, data []byte, c *Config) (*fileConfig, error) {
	f := &fileConfig{name: name, eal: defaultEALSection()}
	dec := yaml.NewDecoder(bytes.NewReader(data))
	var doc yaml.Node
	if err := dec.Decode(&doc); err != nil {
		if err == io.EOF {
			return f, nil // empty: all defaults
		}
		return nil, notYAML(name, err)
	}
	var next yaml.Node
	if err := dec.Decode(&next); err != io.EOF {
		if err != nil {
			return nil, notYAML(name, err)
		}
		return nil, &FileError{File: name, Line: next.Line, Column: next.Column,
			Msg: "a second YAML document; a config file holds one (remove the '---')"}
	}
	l := &loader{f: f, c: c}
	if len(doc.Content) == 1 {
		l.top(doc.Content[0])
	}
	if len(l.errs) > 0 {
		return nil, errors.Join(l.errs...)
	}
	return f, nil
}

func notYAML(name string, err error) error {
	msg := err.Error()
	e := &FileError{File: name}
	if m := yamlLine.FindStringSubmatch(msg); m != nil {
		e.Line, _ = strconv.Atoi(m[1])
		msg = msg[len(m[0]):]
	} else {
		msg = strings.TrimPrefix(msg, "yaml: ")
	}
	e.Msg = "not a YAML file: " + msg
	return e
}

func (l *loader) errorf(n *yaml.Node, field, format string, args ...any) {
	if len(l.errs) == maxFileErrors {
		l.errs = append(l.errs, &FileError{File: l.f.name, Msg: "more errors follow; fix these first"})
	}
	if len(l.errs) > maxFileErrors {
		return
	}
	l.errs = append(l.errs, &FileError{File: l.f.name, Line: n.Line, Column: n.Column, Field: field, Msg: fmt.Sprintf(format, args...)})
}

// field is one key of a mapping and what to do with its value.
type field struct {
	key string
	set func(v *yaml.Node, path string)
}

func keyPath(path, key string) string {
	if path == "" {
		return key
	}
	return path + "." + key
}

// resolve follows aliases.
func resolve(n *yaml.Node) *yaml.Node {
	for n.Kind == yaml.AliasNode && n.Alias != nil {
		n = n.Alias
	}
	return n
}

func isNull(n *yaml.Node) bool { return n.Kind == yaml.ScalarNode && n.ShortTag() == "!!null" }

// describe names what a node is, for "X is not Y" messages.
func describe(n *yaml.Node) string {
	switch n.Kind {
	case yaml.MappingNode:
		return "a mapping"
	case yaml.SequenceNode:
		return "a list"
	case yaml.ScalarNode:
		switch n.ShortTag() {
		case "!!null":
			return "an empty value"
		case "!!str":
			return fmt.Sprintf("the string %q", n.Value)
		case "!!bool":
			return "the boolean " + n.Value
		}
		return n.Value
	}
	return "a YAML node"
}

// mapping walks a mapping of known keys: unknown keys (with the allowed
// ones) and duplicates are errors. An empty value is an empty mapping.
func (l *loader) mapping(n *yaml.Node, path string, fields []field) {
	n = resolve(n)
	keys := make([]string, len(fields))
	for i, f := range fields {
		keys[i] = f.key
	}
	if isNull(n) {
		return
	}
	if n.Kind != yaml.MappingNode {
		what := "the file"
		if path != "" {
			what = path
		}
		l.errorf(n, path, "%s is %s; want a mapping with keys %s", what, describe(n), strings.Join(keys, ", "))
		return
	}
	seen := map[string]*yaml.Node{}
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := resolve(n.Content[i]), n.Content[i+1]
		if k.Kind != yaml.ScalarNode {
			l.errorf(k, path, "a key is %s; want one of %s", describe(k), strings.Join(keys, ", "))
			continue
		}
		p := keyPath(path, k.Value)
		if first, dup := seen[k.Value]; dup {
			l.errorf(k, p, "duplicate key (first at line %d)", first.Line)
			continue
		}
		seen[k.Value] = k
		j := slices.IndexFunc(fields, func(f field) bool { return f.key == k.Value })
		if j < 0 {
			where := "here"
			if path != "" {
				where = "in " + path
			}
			l.errorf(k, p, "unknown key; allowed %s: %s%s", where, strings.Join(keys, ", "), Suggest(k.Value, keys))
			continue
		}
		fields[j].set(v, p)
	}
}

// uintVal reads an integer in lo..hi.
func (l *loader) uintVal(n *yaml.Node, path string, lo, hi uint64) (uint64, bool) {
	n = resolve(n)
	want := fmt.Sprintf("want an integer %d..%d", lo, hi)
	if n.Kind == yaml.ScalarNode && n.ShortTag() == "!!float" && strings.Trim(n.Value, "+-0123456789") == "" {
		// An integer too big for int64.
		l.errorf(n, path, "%s is out of range; %s", n.Value, want)
		return 0, false
	}
	if n.Kind != yaml.ScalarNode || n.ShortTag() != "!!int" {
		if n.Kind == yaml.ScalarNode && n.ShortTag() == "!!str" {
			if _, err := strconv.ParseUint(n.Value, 0, 64); err == nil {
				want += " (without quotes)"
			}
		}
		l.errorf(n, path, "%s is not a number; %s", describe(n), want)
		return 0, false
	}
	var v int64
	if err := n.Decode(&v); err != nil || v < 0 || uint64(v) < lo || uint64(v) > hi {
		l.errorf(n, path, "%s is out of range; %s", n.Value, want)
		return 0, false
	}
	return uint64(v), true
}

func (l *loader) boolVal(n *yaml.Node, path string) (bool, bool) {
	n = resolve(n)
	if n.Kind != yaml.ScalarNode || n.ShortTag() != "!!bool" {
		l.errorf(n, path, "%s is not a boolean; want true or false", describe(n))
		return false, false
	}
	var b bool
	if err := n.Decode(&b); err != nil {
		l.errorf(n, path, "%s is not a boolean; want true or false", describe(n))
		return false, false
	}
	return b, true
}

// strVal reads a scalar as a string; an empty value is "".
func (l *loader) strVal(n *yaml.Node, path string) (string, bool) {
	n = resolve(n)
	if n.Kind != yaml.ScalarNode {
		l.errorf(n, path, "%s is not a string", describe(n))
		return "", false
	}
	if isNull(n) {
		return "", true
	}
	return n.Value, true
}

// oneOf reads a string that must be one of allowed; what names the kind.
func (l *loader) oneOf(n *yaml.Node, path, what string, allowed []string) (string, bool) {
	s, ok := l.strVal(n, path)
	if !ok {
		return "", false
	}
	if !slices.Contains(allowed, s) {
		l.errorf(resolve(n), path, "%q is not %s; allowed: %s%s", s, what, strings.Join(allowed, ", "), Suggest(s, allowed))
		return "", false
	}
	return s, true
}

// list walks a list; an empty value is an empty list.
func (l *loader) list(n *yaml.Node, path, want string, each func(i int, v *yaml.Node, path string)) {
	n = resolve(n)
	if isNull(n) {
		return
	}
	if n.Kind != yaml.SequenceNode {
		l.errorf(n, path, "%s is not a list; want %s", describe(n), want)
		return
	}
	for i, v := range n.Content {
		each(i, v, fmt.Sprintf("%s[%d]", path, i))
	}
}

func (l *loader) setUint(dst *uint, lo, hi uint64) func(*yaml.Node, string) {
	return func(v *yaml.Node, p string) {
		if n, ok := l.uintVal(v, p, lo, hi); ok {
			*dst = uint(n)
		}
	}
}

func (l *loader) setU16(dst *uint16, lo, hi uint64) func(*yaml.Node, string) {
	return func(v *yaml.Node, p string) {
		if n, ok := l.uintVal(v, p, lo, hi); ok {
			*dst = uint16(n)
		}
	}
}

func (l *loader) setU32(dst *uint32, lo, hi uint64) func(*yaml.Node, string) {
	return func(v *yaml.Node, p string) {
		if n, ok := l.uintVal(v, p, lo, hi); ok {
			*dst = uint32(n)
		}
	}
}

func (l *loader) setBool(dst *bool) func(*yaml.Node, string) {
	return func(v *yaml.Node, p string) {
		if b, ok := l.boolVal(v, p); ok {
			*dst = b
		}
	}
}

// Log levels --log-level and log_level take.
var logLevels = []string{"trace", "debug", "info", "warn", "error", "disabled"}

func (l *loader) top(n *yaml.Node) {
	c := l.c
	l.mapping(n, "", []field{
		{"eal", l.ealSec},
		{"ports", l.portsSec},
		{"offloads", func(v *yaml.Node, p string) {
			var w PortWanted
			l.wantSec(v, p, &w)
			c.RxCaps = append(c.RxCaps, w.Rx...)
			c.TxCaps = append(c.TxCaps, w.Tx...)
			c.SwRx = append(c.SwRx, w.SoftwareRx...)
			c.SwTx = append(c.SwTx, w.SoftwareTx...)
		}},
		{"queues", func(v *yaml.Node, p string) {
			l.mapping(v, p, []field{
				{"rx", l.setU16(&c.RxQueues, 1, 1024)},
				{"tx", l.setU16(&c.TxQueues, 1, 1024)},
				{"rxd", l.setU16(&c.RxDesc, 0, 65535)},
				{"txd", l.setU16(&c.TxDesc, 0, 65535)},
			})
		}},
		{"burst", l.setU16(&c.Burst, 1, 512)},
		{"mbufs", func(v *yaml.Node, p string) {
			l.mapping(v, p, []field{
				{"total", l.setUint(&c.TotalNumMbufs, 1025, 1<<32-1)},
				{"size", l.setU16(&c.MbufSize, 128+64, 65535)},
				{"cache", l.setUint(&c.MbufCache, 0, 512)},
			})
		}},
		{"forwarding", l.forwardingSec},
		{"assembly", func(v *yaml.Node, p string) {
			l.mapping(v, p, []field{
				{"gro_timeout_us", l.setUint(&c.GROTimeoutUs, 1, 10_000_000)},
				{"gro_flows", l.setUint(&c.GROFlows, 1, 1<<16)},
				{"gro_no_verify", l.setBool(&c.GRONoVerify)},
				{"reassembly_timeout_s", l.setUint(&c.ReassTimeoutS, 1, 3600)},
			})
		}},
		{"log_level", func(v *yaml.Node, p string) {
			if s, ok := l.oneOf(v, p, "a log level", logLevels); ok {
				c.LogLevel = s
			}
		}},
		{"metrics_addr", func(v *yaml.Node, p string) {
			s, ok := l.strVal(v, p)
			if !ok || s == "" {
				c.MetricsAddr = ""
				return
			}
			addr, err := MetricsListenAddr(s)
			if err != nil {
				l.errorf(resolve(v), p, "%v; want [HOST]:PORT, e.g. \":9100\" (127.0.0.1 only) or \"0.0.0.0:9100\"", err)
				return
			}
			c.MetricsAddr = addr
		}},
		{"sas", l.sasSec},
		{"rules", l.rulesSec},
		{"dos", l.dosSec},
	})
}

func (l *loader) forwardingSec(v *yaml.Node, p string) {
	c := l.c
	l.mapping(v, p, []field{
		{"engine", func(v *yaml.Node, p string) {
			if len(KnownEngines) == 0 {
				if s, ok := l.strVal(v, p); ok && s != "" {
					c.ForwardMode = s
				} else if ok {
					l.errorf(resolve(v), p, "empty; want a forward mode, e.g. io")
				}
				return
			}
			if s, ok := l.oneOf(v, p, "a forward mode", KnownEngines); ok {
				c.ForwardMode = s
			}
		}},
		{"topology", func(v *yaml.Node, p string) {
			if s, ok := l.oneOf(v, p, "a port topology", topologyNames[:]); ok {
				c.Topology, _ = ParseTopology(s)
			}
		}},
		{"nb_cores", func(v *yaml.Node, p string) {
			if n, ok := l.uintVal(v, p, 1, 1024); ok {
				c.NbCores = int(n)
			}
		}},
		{"stats_period", l.setUint(&c.StatsPeriod, 0, 1<<31)},
		{"busy_poll", l.setBool(&c.BusyPoll)},
		{"pipeline", l.setBool(&c.Pipeline)},
		{"run_time", l.setUint(&c.RunTime, 0, 1<<31)},
		{"rx_bursts", l.setU16(&c.RxBursts, 1, 16)},
		{"direct_rounds", l.setU16(&c.DirectRounds, 1, 64)},
		{"tx_retry", l.setU32(&c.TxRetry, 0, 1<<20)},
		{"tx_retry_delay_us", l.setU32(&c.TxRetryDelayUs, 0, 1<<20)},
	})
}

// EAL arguments the eal section has keys for.
var ealKeyArgs = []struct{ arg, key string }{
	{"-l", "eal.lcores"}, {"-m", "eal.memory_mb"}, {"--no-huge", "eal.no_huge"},
	{"--no-pci", "eal.no_pci"}, {"--file-prefix", "eal.file_prefix"}, {"--vdev", "ports (devargs: ...)"},
}

func (l *loader) ealSec(v *yaml.Node, p string) {
	f := l.f
	f.hasEAL = true
	e := &f.eal
	l.mapping(v, p, []field{
		{"lcores", func(v *yaml.Node, p string) {
			s, ok := l.strVal(v, p)
			if !ok {
				return
			}
			if strings.Trim(s, "0123456789,-") != "" {
				l.errorf(resolve(v), p, "%q is not an lcore list; want e.g. \"0-1\" or \"0,2-3\" (other forms: args: [--lcores, ...])", s)
				return
			}
			e.Lcores = s
		}},
		{"memory_mb", l.setUint(&e.MemoryMB, 0, 1<<20)},
		{"no_huge", l.setBool(&e.NoHuge)},
		{"no_pci", l.setBool(&e.NoPCI)},
		{"file_prefix", func(v *yaml.Node, p string) {
			s, ok := l.strVal(v, p)
			if ok && strings.ContainsAny(s, "/ \t") {
				l.errorf(resolve(v), p, "%q: want a name without '/' or spaces", s)
				return
			}
			e.FilePrefix = s
		}},
		{"args", func(v *yaml.Node, p string) {
			e.Args = nil
			l.list(v, p, "EAL arguments, e.g. [--log-level, \"lib.eal:debug\"]", func(_ int, v *yaml.Node, p string) {
				s, ok := l.strVal(v, p)
				if !ok {
					return
				}
				if s == "--" {
					l.errorf(resolve(v), p, `"--" ends the EAL arguments; application settings have their own keys`)
					return
				}
				for _, k := range ealKeyArgs {
					if s == k.arg || strings.HasPrefix(s, k.arg+"=") || len(k.arg) == 2 && strings.HasPrefix(s, k.arg) {
						l.errorf(resolve(v), p, "%q: give it as %s", s, k.key)
						return
					}
				}
				e.Args = append(e.Args, s)
			})
		}},
	})
}

func (l *loader) portsSec(v *yaml.Node, p string) {
	f := l.f
	f.hasPorts, f.portsLine = true, resolve(v).Line
	f.ports = nil
	vdevs, taps := map[string]int{}, map[string]int{}
	l.list(v, p, "a list of ports, each {devargs: ...} or {tap: {name: ...}}", func(i int, v *yaml.Node, p string) {
		var fp filePort
		n0 := len(l.errs)
		l.mapping(v, p, []field{
			{"devargs", func(v *yaml.Node, p string) {
				s, ok := l.strVal(v, p)
				if !ok {
					return
				}
				name, _, _ := strings.Cut(s, ",")
				if name == "" || strings.ContainsAny(s, " \t") {
					l.errorf(resolve(v), p, "%q: want a vdev, DRIVER_N[,key=value...], e.g. net_null0 or net_pcap0,rx_pcap=in.pcap", s)
					return
				}
				if j, dup := vdevs[name]; dup {
					l.errorf(resolve(v), p, "vdev %s is also ports[%d]", name, j)
					return
				}
				vdevs[name] = i
				fp.vdev = s
			}},
			{"tap", func(v *yaml.Node, p string) {
				t, ok := l.tapSec(v, p)
				if !ok {
					return
				}
				if j, dup := taps[t.Name]; dup {
					l.errorf(resolve(v), p, "TAP %s is also ports[%d]", t.Name, j)
					return
				}
				taps[t.Name] = i
				fp.tap = &t
			}},
			{"offloads", func(v *yaml.Node, p string) {
				fp.want = &PortWanted{}
				l.wantSec(v, p, fp.want)
			}},
			{"digest", func(v *yaml.Node, p string) { fp.digest = l.digestSec(v, p) }},
		})
		switch {
		case len(l.errs) > n0:
			// Reported.
		case fp.vdev != "" && fp.tap != nil:
			l.errorf(resolve(v), p, "a port is a vdev (devargs) or a TAP (tap), not both")
		case fp.vdev == "" && fp.tap == nil:
			l.errorf(resolve(v), p, "a port needs devargs (a vdev, e.g. net_null0) or tap ({name: ...}); it has neither")
		default:
			f.ports = append(f.ports, fp)
		}
	})
}

// tapSec reads a port's tap section (TapSpec, as --tap).
func (l *loader) tapSec(v *yaml.Node, p string) (TapSpec, bool) {
	t := TapSpec{Queues: 1}
	n0 := len(l.errs)
	named := false
	l.mapping(v, p, []field{
		{"name", func(v *yaml.Node, p string) {
			named = true
			if s, ok := l.strVal(v, p); !ok {
				return
			} else if err := checkTapName(s); err != nil {
				l.errorf(resolve(v), p, "%v", err)
			} else {
				t.Name = s
			}
		}},
		{"netns", func(v *yaml.Node, p string) {
			if s, ok := l.strVal(v, p); !ok || s == "" {
				return
			} else if err := checkNetns(s); err != nil {
				l.errorf(resolve(v), p, "%v", err)
			} else {
				t.Netns = s
			}
		}},
		{"queues", func(v *yaml.Node, p string) {
			if n, ok := l.uintVal(v, p, 1, 64); ok {
				t.Queues = int(n)
			}
		}},
		{"offload", func(v *yaml.Node, p string) {
			t.Offload = nil
			l.list(v, p, "TAP offloads, e.g. [csum, tso4]", func(_ int, v *yaml.Node, p string) {
				if s, ok := l.oneOf(v, p, "a TAP offload", TapOffloadNames); ok {
					t.Offload = append(t.Offload, s)
				}
			})
		}},
	})
	if len(l.errs) > n0 {
		return t, false
	}
	if !named {
		l.errorf(resolve(v), p, "a TAP needs a name (1 to 15 characters): {name: opmd0, netns: ..., queues: ..., offload: [...]}")
		return t, false
	}
	return t, true
}

// wantSec reads an offloads section: capability names by direction.
func (l *loader) wantSec(v *yaml.Node, p string, w *PortWanted) {
	rx, tx := offload.AllRxCaps().Names(), offload.AllTxCaps().Names()
	swRx, swTx := offload.SoftwareRx.Names(), offload.SoftwareTx.Names()
	names := func(dst *[]string, what string, allowed []string) func(*yaml.Node, string) {
		return func(v *yaml.Node, p string) {
			*dst = nil
			l.list(v, p, "capability names, e.g. [ipv4_cksum, tcp_cksum]", func(_ int, v *yaml.Node, p string) {
				s, ok := l.strVal(v, p)
				if !ok {
					return
				}
				n := strings.ToLower(strings.ReplaceAll(strings.TrimSpace(s), "-", "_"))
				if !slices.Contains(allowed, n) {
					l.errorf(resolve(v), p, "%q is not %s; allowed: %s%s", s, what, strings.Join(allowed, ", "), Suggest(n, allowed))
					return
				}
				*dst = append(*dst, n)
			})
		}
	}
	l.mapping(v, p, []field{
		{"rx", names(&w.Rx, "an RX capability", rx)},
		{"tx", names(&w.Tx, "a TX capability", tx)},
		{"software_rx", names(&w.SoftwareRx, "an RX capability offloadpmd performs in software", swRx)},
		{"software_tx", names(&w.SoftwareTx, "a TX capability offloadpmd performs in software", swTx)},
	})
}

// Suggest returns `; did you mean "x"?` for the allowed name closest to s,
// if it is close.
func Suggest(s string, allowed []string) string {
	best, bestD := "", len(s)/3+2
	for _, a := range allowed {
		if d := editDistance(strings.ToLower(s), a); d < bestD {
			best, bestD = a, d
		}
	}
	if best == "" || best == s {
		return ""
	}
	return fmt.Sprintf("; did you mean %q?", best)
}

// editDistance is the optimal-string-alignment distance of a and b:
// Levenshtein's, with the swap of two neighbouring letters (tpc for tcp)
// counted as one edit.
func editDistance(a, b string) int {
	prev2 := make([]int, len(b)+1)
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
			if i > 1 && j > 1 && a[i-1] == b[j-2] && a[i-2] == b[j-1] {
				cur[j] = min(cur[j], prev2[j-2]+1)
			}
		}
		prev2, prev, cur = prev, cur, prev2
	}
	return prev[len(b)]
}

// vdevArgs lists the --vdev values in EAL arguments.
func vdevArgs(eal []string) []string {
	var v []string
	for i := 0; i < len(eal); i++ {
		switch a := eal[i]; {
		case a == "--vdev" && i+1 < len(eal):
			v = append(v, eal[i+1])
			i++
		case strings.HasPrefix(a, "--vdev="):
			v = append(v, strings.TrimPrefix(a, "--vdev="))
		}
	}
	return v
}

// mergeEAL sets c.EAL, c.Taps and c.PortOffloads from the command line's
// EAL arguments and the file (nil without --config), by the rule in this
// file's header comment.
func (c *Config) mergeEAL(cmdline []string, f *fileConfig) error {
	var vdevs []string
	switch {
	case len(cmdline) > 0:
		c.EAL = append([]string(nil), cmdline...)
	case f != nil:
		c.EAL = f.eal.args()
		c.EALDefaulted = f.eal.FilePrefix == ""
		if !f.hasPorts {
			vdevs = defaultVdevs
		}
	default:
		c.EAL, c.EALDefaulted = DefaultEAL(), true
	}
	if f == nil || !f.hasPorts {
		for _, v := range vdevs {
			c.EAL = append(c.EAL, "--vdev="+v)
		}
		return nil
	}
	ethID := len(vdevArgs(c.EAL))
	for _, p := range f.ports {
		var id uint16
		var dev string
		if p.tap != nil {
			if len(c.Taps) == maxTapPorts {
				return &FileError{File: f.name, Line: f.portsLine, Field: "ports", Msg: fmt.Sprintf("more than %d TAP ports", maxTapPorts)}
			}
			id, dev = uint16(FirstTapPort+len(c.Taps)), p.tap.Name
			c.Taps = append(c.Taps, *p.tap)
		} else {
			if ethID == maxEthPorts {
				return &FileError{File: f.name, Line: f.portsLine, Field: "ports", Msg: fmt.Sprintf("more than %d ethdev ports", maxEthPorts)}
			}
			id, dev = uint16(ethID), strings.SplitN(p.vdev, ",", 2)[0]
			ethID++
			c.EAL = append(c.EAL, "--vdev="+p.vdev)
		}
		if p.want != nil && (len(p.want.Rx)+len(p.want.Tx)+len(p.want.SoftwareRx)+len(p.want.SoftwareTx) > 0) {
			w := *p.want
			w.Device = dev
			if c.PortOffloads == nil {
				c.PortOffloads = map[uint16]PortWanted{}
			}
			c.PortOffloads[id] = w
		}
		if p.digest != nil {
			d := *p.digest
			d.Device = dev
			if c.PortDigests == nil {
				c.PortDigests = map[uint16]DigestSpec{}
			}
			c.PortDigests[id] = d
		}
	}
	return nil
}

// LoadFile is the configuration of the file name alone, as the command line
// "-- --config name" gives it.
func LoadFile(name string) (*Config, error) {
	return Parse([]string{"--", "--config", name})
}
