package main

import (
	"errors"
	"fmt"
	"net/netip"
	"slices"
	"strconv"
	"strings"
	"text/tabwriter"

	"github.com/rs/zerolog/log"

	"github.com/offloadpmd/offloadpmd/config"
	"github.com/offloadpmd/offloadpmd/offload"
	"github.com/offloadpmd/offloadpmd/offload/esp"
	"github.com/offloadpmd/offloadpmd/pipeline"
)

// IPsec SAs and outbound policies: the sa commands, and the config file's
// SAs installed at startup. testpmd has no SA commands; the words are
// those of DPDK's ipsec-secgw SA rules and `ip xfrm state` where they fit
// (spi, enc, auth, src, dst, esn), and the algorithm names strongSwan's
// (esp.ParseAlgorithm).
//
// Keys never appear in output: esp.Key prints redacted, errors about a
// key never quote it, and a line holding one is redacted before it goes
// to the prompt's history or back to the screen (redactLine).

// saAddArgs is the grammar of `sa add`.
const saAddArgs = "<index> spi <spi> in|out tunnel|transport <alg> enc <hex> {auth <hex>} {src <addr>} {dst <addr>} {esn} {window <window>} {ttl <ttl>} {df copy|set|clear}"

// saPlaceholders are the argument kinds of the sa commands.
func saPlaceholders(number func(lo, hi uint64) placeholder) map[string]placeholder {
	return map[string]placeholder{
		"<index>":  number(0, esp.MaxSAs-1),
		"<spi>":    number(esp.MinSPI, 1<<32-1),
		"<window>": number(1, esp.MaxReplayWindow),
		"<ttl>":    number(1, 255),
		"<alg>": {
			check: func(_ *app, v string) error {
				if _, err := esp.ParseAlgorithm(v); err != nil {
					names := algNames()
					return fmt.Errorf("unknown ESP algorithm %q%s; allowed: %s", v, config.Suggest(v, names), strings.Join(names, ", "))
				}
				return nil
			},
			complete: func(*app) []string { return algNames() },
		},
		// ParseKey's errors never quote the key.
		"<hex>": {check: func(_ *app, v string) error { _, err := esp.ParseKey(v); return err }},
		"<addr>": {check: func(_ *app, v string) error {
			if _, err := parseAddr(v); err != nil {
				return err
			}
			return nil
		}},
		"<prefix>": {check: func(_ *app, v string) error { _, err := config.ParsePrefix(v); return err }},
	}
}

func algNames() []string {
	var n []string
	for _, a := range esp.Algorithms() {
		n = append(n, a.String())
	}
	return n
}

func parseAddr(v string) (netip.Addr, error) {
	a, err := netip.ParseAddr(v)
	if err != nil || a.Zone() != "" || a.Is4In6() {
		return a, fmt.Errorf("%q is not an IPv4 or IPv6 address", v)
	}
	return a, nil
}

// keyWords are the words a key follows on a command line (enc and auth
// in sa add, key in digest set).
var keyWords = []string{"enc", "auth", "key"}

// redactLine replaces what may be key material in a command line: the
// word after enc or auth, and any long word of hex digits.
func redactLine(line string) string {
	f := strings.Fields(line)
	changed := false
	for i, w := range f {
		after := i > 0 && slices.Contains(keyWords, f[i-1])
		if after || isHexWord(w) && len(w) >= 32 && !strings.Contains(w, ":") {
			f[i], changed = esp.Redacted, true
		}
	}
	if !changed {
		return line
	}
	return strings.Join(f, " ")
}

func (a *app) sas() *esp.Registry {
	if a.off.SAs == nil {
		a.off.SAs = &esp.Registry{}
	}
	return a.off.SAs
}

func (a *app) policies() *pipeline.ESPPolicies {
	if a.off.ESP == nil {
		a.off.ESP = &pipeline.ESPPolicies{}
	}
	return a.off.ESP
}

func parseIndex(s string) (uint16, error) {
	n, err := strconv.ParseUint(s, 0, 16)
	if err != nil || n >= esp.MaxSAs {
		return 0, fmt.Errorf("SA index %q: want 0..%d", s, esp.MaxSAs-1)
	}
	return uint16(n), nil
}

// sa add <index> spi <spi> in|out tunnel|transport <alg> enc <hex> {options}
func cmdSAAdd(a *app, args []string) error {
	if len(args) < 8 || args[1] != "spi" || args[6] != "enc" {
		return errBadArgs
	}
	index, err := parseIndex(args[0])
	if err != nil {
		return err
	}
	spi, err := strconv.ParseUint(args[2], 0, 32)
	if err != nil {
		return fmt.Errorf("spi %q: want a number", args[2])
	}
	var c esp.Config
	c.SPI = uint32(spi)
	if c.Dir, err = esp.ParseDirection(args[3]); err != nil {
		return err
	}
	if c.Mode, err = esp.ParseMode(args[4]); err != nil {
		return err
	}
	if c.Alg, err = esp.ParseAlgorithm(args[5]); err != nil {
		return err
	}
	if c.EncKey, err = esp.ParseKey(args[7]); err != nil {
		return fmt.Errorf("enc: %w", err)
	}
	for i := 8; i < len(args); i++ {
		opt := args[i]
		val := ""
		if opt != "esn" {
			if i+1 == len(args) {
				return errBadArgs
			}
			i++
			val = args[i]
		}
		switch opt {
		case "esn":
			c.ESN = true
		case "auth":
			if c.AuthKey, err = esp.ParseKey(val); err != nil {
				return fmt.Errorf("auth: %w", err)
			}
		case "src", "dst":
			ad, err := parseAddr(val)
			if err != nil {
				return fmt.Errorf("%s: %w", opt, err)
			}
			if opt == "src" {
				c.Src = ad
			} else {
				c.Dst = ad
			}
		case "window", "ttl":
			n, err := strconv.ParseUint(val, 0, 16)
			if err != nil {
				return fmt.Errorf("%s %q: want a number", opt, val)
			}
			if opt == "window" {
				c.ReplayWindow = int(n)
			} else if n > 255 {
				return fmt.Errorf("ttl %d: want 1..255", n)
			} else {
				c.TTL = uint8(n)
			}
		case "df":
			if err := c.DF.UnmarshalText([]byte(val)); err != nil {
				return err
			}
		default:
			return errBadArgs
		}
	}
	sa, err := a.sas().AddAt(index, c)
	if err != nil {
		return err
	}
	a.printf("SA %d added: %v\n", index, sa)
	log.Info().Stringer("sa", sa).Msg("SA added") // SA.String has no keys
	return nil
}

// sa del <index>
func cmdSADel(a *app, args []string) error {
	if len(args) != 1 {
		return errBadArgs
	}
	index, err := parseIndex(args[0])
	if err != nil {
		return err
	}
	for _, p := range a.policies().All() {
		if p.SA == index {
			// Deleting it would leave the policy's packets dropped
			// (esp-no-sa); clearing the policy would send them in clear.
			return fmt.Errorf("SA %d is used by port %d's outbound policy (dst %s): `sa policy %d clear` first", index, p.Port, policyDst(p.Dst), p.Port)
		}
	}
	if err := a.sas().Delete(index); err != nil {
		if errors.Is(err, esp.ErrNoSA) {
			return fmt.Errorf("no SA %d (sa show lists them)", index)
		}
		return err
	}
	a.printf("SA %d deleted\n", index)
	log.Info().Uint16("sa", index).Msg("SA deleted")
	return nil
}

func policyDst(p netip.Prefix) string {
	if !p.IsValid() {
		return "any"
	}
	return p.String()
}

// sa show [<index>]
func cmdSAShow(a *app, args []string) error {
	t := a.sas().Load()
	if len(args) == 1 {
		index, err := parseIndex(args[0])
		if err != nil {
			return err
		}
		sa := t.SA(index)
		if sa == nil {
			return fmt.Errorf("no SA %d (sa show lists them)", index)
		}
		a.writeSA(sa)
		return nil
	}
	sas := t.All(nil)
	if len(sas) == 0 {
		a.printf("No SAs.\n")
	} else {
		tw := tabwriter.NewWriter(a.out, 0, 0, 2, ' ', 0)
		fmt.Fprintf(tw, "SA\tSPI\tDIR\tMODE\tALGORITHM\tESN\tWINDOW\tENDPOINTS\tSEQ\n")
		for _, sa := range sas {
			c := sa.Config()
			window := "-"
			if c.Dir == esp.Inbound {
				window = strconv.Itoa(c.Window())
			}
			fmt.Fprintf(tw, "%d\t0x%08x\t%v\t%v\t%v\t%s\t%s\t%s\t%d\n", sa.Index(), c.SPI, c.Dir, c.Mode, c.Alg,
				onOff(c.ESN), window, endpoints(c), sa.Seq())
		}
		_ = tw.Flush()
	}
	ps := a.policies().All()
	if len(ps) == 0 {
		a.printf("No outbound policies.\n")
		return nil
	}
	a.printf("Outbound policies (per port, the first match wins):\n")
	tw := tabwriter.NewWriter(a.out, 0, 0, 2, ' ', 0)
	fmt.Fprintf(tw, "  PORT\tDST\tSA\tENCRYPTS\n")
	for _, p := range ps {
		fmt.Fprintf(tw, "  %d\t%s\t%d\t%s\n", p.Port, policyDst(p.Dst), p.SA, a.encrypts(p.Port))
	}
	return tw.Flush()
}

// encrypts says whether port's table enables esp_encrypt.
func (a *app) encrypts(port uint16) string {
	t := a.tables.Load(port)
	if t == nil || t.TxBy(offload.TxESPEncrypt) == offload.PerformNone {
		return fmt.Sprintf("no: port config %d tx_offload esp_encrypt on", port)
	}
	return "yes"
}

func onOff(b bool) string {
	if b {
		return "on"
	}
	return "off"
}

func endpoints(c esp.Config) string {
	if !c.Src.IsValid() && !c.Dst.IsValid() {
		return "any"
	}
	s, d := "any", "any"
	if c.Src.IsValid() {
		s = c.Src.String()
	}
	if c.Dst.IsValid() {
		d = c.Dst.String()
	}
	return s + " -> " + d
}

// writeSA prints one SA in full, its keys redacted.
func (a *app) writeSA(sa *esp.SA) {
	c := sa.Config()
	name := ""
	if c.Name != "" {
		name = fmt.Sprintf(" (%s)", c.Name)
	}
	a.printf("SA %d%s\n", sa.Index(), name)
	line := func(label, format string, args ...any) {
		a.printf("  %-15s %s\n", label+":", fmt.Sprintf(format, args...))
	}
	line("SPI", "0x%08x (%d)", c.SPI, c.SPI)
	line("Direction", "%v", c.Dir)
	line("Mode", "%v", c.Mode)
	line("Algorithm", "%v", c.Alg)
	line("Enc key", "%v (%d bytes)", c.EncKey, c.EncKey.Len())
	if c.AuthKey.Len() > 0 {
		line("Auth key", "%v (%d bytes)", c.AuthKey, c.AuthKey.Len())
	}
	line("Endpoints", "%s", endpoints(c))
	line("ESN", "%s", onOff(c.ESN))
	if c.Mode == esp.Tunnel {
		ttl := c.TTL
		if ttl == 0 {
			ttl = esp.DefaultTTL
		}
		line("Outer TTL", "%d", ttl)
		line("Outer DF", "%v", c.DF)
	}
	if c.Dir == esp.Inbound {
		line("Replay window", "%d", c.Window())
		line("Highest seq", "%d", sa.Seq())
		return
	}
	line("Last seq sent", "%d", sa.Seq())
	for _, p := range a.policies().All() {
		if p.SA == sa.Index() {
			line("Policy", "port %d dst %s (encrypts: %s)", p.Port, policyDst(p.Dst), a.encrypts(p.Port))
		}
	}
}

// sa policy <port> <prefix>|any sa <index> | sa policy <port> clear
func cmdSAPolicy(a *app, args []string) error {
	if len(args) != 2 && len(args) != 4 {
		return errBadArgs
	}
	n, err := strconv.ParseUint(args[0], 10, 16)
	if err != nil || n >= offload.MaxPorts {
		return fmt.Errorf("invalid port %q", args[0])
	}
	port := uint16(n)
	pols := a.policies()
	if len(args) == 2 {
		if args[1] != "clear" {
			return errBadArgs
		}
		pols.Set(port, nil)
		a.printf("Port %d: outbound policies cleared\n", port)
		return nil
	}
	if args[2] != "sa" {
		return errBadArgs
	}
	var dst netip.Prefix
	if args[1] != "any" {
		if dst, err = config.ParsePrefix(args[1]); err != nil {
			return err
		}
	}
	index, err := parseIndex(args[3])
	if err != nil {
		return err
	}
	if err := checkPolicy(a.sas().Load().SA(index), index, dst); err != nil {
		return err
	}
	ps := pols.Load(port)
	p := pipeline.ESPPolicy{Port: port, Dst: dst, SA: index}
	if i := slices.IndexFunc(ps, func(o pipeline.ESPPolicy) bool { return o.Dst == dst }); i >= 0 {
		ps = slices.Clone(ps)
		ps[i] = p
	} else {
		ps = append(slices.Clone(ps), p)
	}
	pols.Set(port, ps)
	a.printf("Port %d: packets to %s leave encrypted with SA %d\n", port, policyDst(dst), index)
	if e := a.encrypts(port); e != "yes" {
		a.printf("Port %d does not encrypt yet (%s)\n", port, e[len("no: "):])
	}
	return nil
}

// checkPolicy says why sa cannot take a policy's packets to dst.
func checkPolicy(sa *esp.SA, index uint16, dst netip.Prefix) error {
	if sa == nil {
		return fmt.Errorf("no SA %d (sa show lists them)", index)
	}
	c := sa.Config()
	if c.Dir != esp.Outbound {
		return fmt.Errorf("SA %d is inbound: a policy sends packets through an outbound SA", index)
	}
	if c.Mode == esp.Transport && dst.IsValid() && c.Family() != 0 && dst.Addr().Is4() != (c.Family() == 4) {
		return fmt.Errorf("dst %v: SA %d is a transport-mode SA for IPv%d only", dst, index, c.Family())
	}
	return nil
}

// installSAs adds the config file's SAs and sets their policies: once the
// ports' tables exist, before forwarding starts.
func (a *app) installSAs() error {
	if len(a.cfg.SAs) == 0 {
		return nil
	}
	byPort := map[uint16][]pipeline.ESPPolicy{}
	var ports []uint16
	for _, s := range a.cfg.SAs {
		c, err := s.Config()
		if err != nil {
			return fmt.Errorf("--config %s: %w", a.cfg.ConfigFile, err)
		}
		sa, err := a.sas().AddAt(s.Index, c)
		if err != nil {
			return fmt.Errorf("--config %s: sa %d: %w", a.cfg.ConfigFile, s.Index, err)
		}
		log.Info().Stringer("sa", sa).Msg("SA added")
		if p := s.Policy; p != nil {
			if a.tables.Load(p.Port) == nil {
				return fmt.Errorf("--config %s: sa %d: policy: no port %d (ports: %s)", a.cfg.ConfigFile, s.Index, p.Port, portList(a.allPortIDs()))
			}
			if _, seen := byPort[p.Port]; !seen {
				ports = append(ports, p.Port)
			}
			byPort[p.Port] = append(byPort[p.Port], pipeline.ESPPolicy{Port: p.Port, Dst: p.Dst, SA: s.Index})
		}
	}
	for _, port := range ports {
		a.policies().Set(port, byPort[port])
		if e := a.encrypts(port); e != "yes" {
			log.Warn().Uint16("port", port).Msg("an outbound SA policy on a port that does not enable esp_encrypt: give it offloads: {tx: [esp_encrypt]}")
		}
	}
	return nil
}

// allPortIDs lists the ethdev and TAP ports.
func (a *app) allPortIDs() []uint16 {
	var ids []uint16
	for _, p := range a.ports {
		ids = append(ids, p.ID())
	}
	for _, t := range a.taps {
		ids = append(ids, t.ID())
	}
	return ids
}
