package main

import (
	"errors"
	"fmt"
	"net/netip"
	"slices"
	"strings"

	"github.com/rs/zerolog/log"

	"github.com/offloadpmd/offloadpmd/config"
	"github.com/offloadpmd/offloadpmd/offload"
	"github.com/offloadpmd/offloadpmd/offload/dos"
	"github.com/offloadpmd/offloadpmd/pipeline"
)

// The DoS filter: the dos commands, and the filter's rules made from the
// config file's dos section at startup. One dos.Control holds the rules
// every stream's Filter applies; `dos set`, `dos allow|block` and
// `dos reset` change it at run time, without stopping forwarding (a new
// table size applies to the tables made at the next start). Which ports
// filter is their capability tables' rx dos_filter. testpmd has none of
// this.

// dosPlaceholders are the argument kinds of the dos commands.
func dosPlaceholders() map[string]placeholder {
	return map[string]placeholder{
		"<dos_key>": {
			check: func(_ *app, v string) error {
				if !slices.Contains(config.DoSKeys(), v) {
					return fmt.Errorf("unknown DoS key %q%s; allowed: %s", v, config.Suggest(v, config.DoSKeys()), strings.Join(config.DoSKeys(), ", "))
				}
				return nil
			},
			complete: func(*app) []string { return config.DoSKeys() },
		},
		"<value>": {check: func(*app, string) error { return nil }},
		"<source_prefix>": {
			check: func(_ *app, v string) error { _, err := config.ParsePrefix(v); return err },
			complete: func(a *app) []string {
				if a.off == nil || a.off.DoS == nil {
					return nil
				}
				c := a.off.DoS.Config()
				return append(c.Allow, c.Block...)
			},
		},
	}
}

// installDoS makes the DoS filter's rules from the config file's dos
// section (or the defaults), before any stream is made.
func (a *app) installDoS() error {
	cfg := dos.DefaultConfig()
	if a.cfg.DoS != nil {
		cfg = *a.cfg.DoS
	}
	ctl, err := dos.NewControl(cfg)
	if err != nil {
		return fmt.Errorf("--config %s: dos: %w", a.cfg.ConfigFile, err)
	}
	a.off.DoS = ctl
	if a.cfg.DoS != nil {
		if on, _ := a.dosPorts(); len(on) == 0 {
			log.Warn().Msg("the config file configures the DoS filter, but no port enables it: give the ports to protect offloads: {rx: [dos_filter]}")
		}
	}
	return nil
}

// dosPorts lists the ports whose tables enable dos_filter, and the others.
func (a *app) dosPorts() (on, off []uint16) {
	for _, id := range a.knownPorts() {
		if t := a.tables.Load(id); t != nil && t.RxBy(offload.RxDoSFilter) != offload.PerformNone {
			on = append(on, id)
		} else {
			off = append(off, id)
		}
	}
	return on, off
}

func (a *app) dosControl() (*dos.Control, error) {
	if a.off == nil || a.off.DoS == nil {
		return nil, fmt.Errorf("the DoS filter is not set up")
	}
	return a.off.DoS, nil
}

// dos set <key> <value>
func cmdDoSSet(a *app, args []string) error {
	if len(args) != 2 {
		return errBadArgs
	}
	ctl, err := a.dosControl()
	if err != nil {
		return err
	}
	cfg := ctl.Config()
	if err := config.SetDoSKey(&cfg, args[0], args[1]); err != nil {
		return dosErr(err)
	}
	if err := ctl.Update(cfg); err != nil {
		return dosErr(err)
	}
	v := config.DoSValue(cfg, args[0])
	log.Info().Str("key", args[0]).Str("value", v).Msg("dos set")
	switch {
	case slices.Contains(config.DoSTableKeys, args[0]):
		a.printf("DoS %s set to %s: the tables made at the next start have it\n", args[0], v)
	case args[0] == "ipv4_prefix_len" || args[0] == "ipv6_prefix_len":
		a.printf("DoS %s set to %s: the filters' tables start over\n", args[0], v)
	default:
		a.printf("DoS %s set to %s\n", args[0], v)
	}
	return nil
}

// dos allow add|del <prefix>
func cmdDoSAllow(a *app, args []string) error { return a.dosList("allow", args) }

// dos block add|del <prefix>
func cmdDoSBlock(a *app, args []string) error { return a.dosList("block", args) }

func (a *app) dosList(list string, args []string) error {
	if len(args) != 2 {
		return errBadArgs
	}
	ctl, err := a.dosControl()
	if err != nil {
		return err
	}
	p, err := config.ParsePrefix(args[1])
	if err != nil {
		return err
	}
	cfg := ctl.Config()
	dst := &cfg.Allow
	if list == "block" {
		dst = &cfg.Block
	}
	i := slices.IndexFunc(*dst, func(s string) bool { q, err := config.ParsePrefix(s); return err == nil && q == p })
	switch args[0] {
	case "add":
		if i >= 0 {
			return fmt.Errorf("%v is already in the %s list", p, list)
		}
		*dst = append(*dst, p.String())
	case "del":
		if i < 0 {
			return fmt.Errorf("%v is not in the %s list (dos show lists them)", p, list)
		}
		*dst = slices.Delete(*dst, i, i+1)
	default:
		return errBadArgs
	}
	if err := ctl.Update(cfg); err != nil {
		return dosErr(err)
	}
	verb := map[string]string{"add": "added to", "del": "removed from"}[args[0]]
	a.printf("%v %s the DoS %s list\n", p, verb, list)
	log.Info().Str("list", list).Str("op", args[0]).Stringer("prefix", p).Msg("dos list")
	return nil
}

// dosErr says a configuration error without the package's prefix (the
// command names the filter).
func dosErr(err error) error {
	var ce *dos.ConfigError
	if errors.As(err, &ce) {
		return fmt.Errorf("%s: %s", ce.Field, ce.Msg)
	}
	return err
}

// dos reset
func cmdDoSReset(a *app, args []string) error {
	ctl, err := a.dosControl()
	if err != nil {
		return err
	}
	ctl.ResetState()
	a.printf("DoS filter state cleared: buckets, established sources, flows and fragments start over (counters kept)\n")
	return nil
}

// dos show [<addr>], show dos [<addr>]
func cmdDoSShow(a *app, args []string) error {
	ctl, err := a.dosControl()
	if err != nil {
		return err
	}
	if len(args) == 1 {
		addr, err := parseAddr(args[0])
		if err != nil {
			return err
		}
		a.printf("%s\n", dosMatch(ctl, addr))
		return nil
	}
	on, off := a.dosPorts()
	a.printf("DoS filter\n")
	ports := func(ids []uint16) string {
		if len(ids) == 0 {
			return "none"
		}
		return portList(ids)
	}
	a.printf("  Filtering ports:  %s", ports(on))
	if len(off) > 0 {
		a.printf("  (not: %s; port config <port> rx_offload dos_filter on)", ports(off))
	}
	a.printf("\n  Configuration:\n")
	y, err := config.FormatDoS(ctl.Config(), "    ")
	if err != nil {
		return err
	}
	a.printf("%s", y)
	a.printf("  Tables per stream (entries in use / capacity):\n")
	if a.fwd == nil || len(a.fwd.Streams()) == 0 {
		a.printf("    no streams: they are made at start\n")
	} else {
		for _, s := range a.fwd.Streams() {
			u, ok := s.DoSUsage()
			if !ok {
				a.printf("    stream %d (%v): no filter (port %d does not filter)\n", s.ID, s, s.RxPort)
				continue
			}
			a.printf("    stream %d (%v): sources %d/%d  flows %d/%d  fragments %d/%d\n", s.ID, s,
				u.Sources, u.SourcesCap, u.Flows, u.FlowsCap, u.Fragments, u.FragmentsCap)
		}
	}
	c := a.counterTotals()
	var lines []string
	for _, k := range pipeline.AllCounters() {
		if int(k) < len(c) && c[k] != 0 && strings.HasPrefix(k.String(), "dos-") {
			lines = append(lines, fmt.Sprintf("    %-26s %d\n", k, c[k]))
		}
	}
	if len(lines) > 0 {
		a.printf("  Counters:\n%s", strings.Join(lines, ""))
	}
	return nil
}

// dosMatch says what the lists do with an address (dos show <addr>).
func dosMatch(ctl *dos.Control, addr netip.Addr) string {
	act, p, ok := ctl.Match(addr)
	if !ok {
		return fmt.Sprintf("%v: in no list: the rates and limits apply", addr)
	}
	what := "blocked: dropped"
	if act == dos.Allow {
		what = "allowed: the rates and limits do not apply"
	}
	return fmt.Sprintf("%v: %s (%v)", addr, what, p)
}
