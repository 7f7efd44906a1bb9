package main

import (
	"fmt"
	"slices"
	"strconv"

	"github.com/rs/zerolog/log"

	"github.com/offloadpmd/offloadpmd/offload"
	"github.com/offloadpmd/offloadpmd/offload/digest"
	"github.com/offloadpmd/offloadpmd/offload/esp"
	"github.com/offloadpmd/offloadpmd/pipeline"
	"github.com/offloadpmd/offloadpmd/pmd"
)

// Message digests: the digest commands, and the config file's per-port
// digests installed at startup. A port's digest is the one its packets'
// digest requests get (tx_offload digest) and the one its received
// packets are checked against (rx_offload digest_verify), as
// pipeline.DigestConfig says. testpmd has none of this.
//
// The HMAC key is given in hex after the word key and, as the SAs' keys,
// never appears in output: a line holding it is redacted before the
// history file or an echo (redactLine; key is one of keyWords).

// digestSetArgs is the grammar of `digest set`.
const digestSetArgs = "<port> hmac-sha256|sha256|crc32c {key <hex>} {len <digest_len>} {append} {dynfield}"

// digestPlaceholders are the argument kinds of the digest commands.
func digestPlaceholders(number func(lo, hi uint64) placeholder) map[string]placeholder {
	return map[string]placeholder{"<digest_len>": number(0, digest.MaxSize)}
}

func (a *app) digests() *pipeline.DigestConfigs {
	if a.off.Digests == nil {
		a.off.Digests = &pipeline.DigestConfigs{}
	}
	return a.off.Digests
}

// digestPort reads a port id the grammar checked.
func digestPort(s string) (uint16, error) {
	n, err := strconv.ParseUint(s, 10, 16)
	if err != nil || n >= offload.MaxPorts {
		return 0, fmt.Errorf("invalid port %q", s)
	}
	return uint16(n), nil
}

// digest set <port> <alg> {key <hex>} {len <n>} {append} {dynfield}
func cmdDigestSet(a *app, args []string) error {
	if len(args) < 2 {
		return errBadArgs
	}
	port, err := digestPort(args[0])
	if err != nil {
		return err
	}
	var c pipeline.DigestConfig
	if c.Alg, err = digest.ParseAlgorithm(args[1]); err != nil {
		return err
	}
	modes := 0
	for i := 2; i < len(args); i++ {
		switch opt := args[i]; opt {
		case "append", "dynfield":
			c.Mode, _ = pipeline.ParseDigestMode(opt)
			modes++
		case "key", "len":
			if i+1 == len(args) {
				return errBadArgs
			}
			i++
			if opt == "key" {
				// ParseKey's errors never quote the key.
				if c.Key, err = esp.ParseKey(args[i]); err != nil {
					return fmt.Errorf("key: %w", err)
				}
				continue
			}
			n, err := strconv.ParseUint(args[i], 0, 8)
			if err != nil {
				return fmt.Errorf("len %q: want a number of bytes", args[i])
			}
			c.Len = int(n)
		default:
			return errBadArgs
		}
	}
	if modes > 1 {
		return fmt.Errorf("received digests are appended or in the dynfield, not both")
	}
	if err := a.digests().Set(port, c); err != nil {
		return err
	}
	a.printf("Port %d: digest %v\n", port, c) // DigestConfig prints no key
	log.Info().Uint16("port", port).Stringer("digest", c).Msg("digest set")
	if use := a.digestUse(port); use != "" {
		a.printf("Port %d %s\n", port, use)
	}
	return nil
}

// digestUse says what port's table does not enable of digests yet ("":
// both directions are on).
func (a *app) digestUse(port uint16) string {
	t := a.tables.Load(port)
	tx := t != nil && t.TxBy(offload.TxDigest) != offload.PerformNone
	rx := t != nil && t.RxBy(offload.RxDigestVerify) != offload.PerformNone
	switch {
	case tx && rx:
		return ""
	case tx:
		return fmt.Sprintf("does not verify received digests (port config %d rx_offload digest_verify on)", port)
	case rx:
		return fmt.Sprintf("takes no digest requests (port config %d tx_offload digest on)", port)
	}
	return fmt.Sprintf("neither takes digest requests nor verifies digests yet (port config %d tx_offload digest on, port config %d rx_offload digest_verify on)", port, port)
}

// digest show <port>
func cmdDigestShow(a *app, args []string) error {
	if len(args) != 1 {
		return errBadArgs
	}
	port, err := digestPort(args[0])
	if err != nil {
		return err
	}
	c := a.digests().Load(port)
	if c == nil {
		a.printf("Port %d: no digest (digest set %d hmac-sha256|sha256|crc32c ...)\n", port, port)
		return nil
	}
	line := func(label, format string, args ...any) {
		a.printf("  %-18s %s\n", label+":", fmt.Sprintf(format, args...))
	}
	a.printf("Port %d digest\n", port)
	line("Algorithm", "%v", c.Alg)
	line("Length", "%d bytes", c.Size())
	if c.Key.Len() > 0 {
		line("Key", "%v (%d bytes)", c.Key, c.Key.Len())
	}
	where := "appended after the L4 payload (checked and stripped)"
	if c.Mode == pipeline.DigestModeDynfield {
		where = "in the mbuf field " + pipeline.DigestDynfieldName
	}
	line("Received digests", "%s", where)
	t := a.tables.Load(port)
	line("Requests", "%s", enabledOr(t != nil && t.TxBy(offload.TxDigest) != offload.PerformNone,
		fmt.Sprintf("port config %d tx_offload digest on", port)))
	line("Verification", "%s", enabledOr(t != nil && t.RxBy(offload.RxDigestVerify) != offload.PerformNone,
		fmt.Sprintf("port config %d rx_offload digest_verify on", port)))
	return nil
}

func enabledOr(on bool, how string) string {
	if on {
		return "enabled"
	}
	return "off (" + how + ")"
}

// digest clear <port>
func cmdDigestClear(a *app, args []string) error {
	if len(args) != 1 {
		return errBadArgs
	}
	port, err := digestPort(args[0])
	if err != nil {
		return err
	}
	a.digests().Clear(port)
	a.printf("Port %d: digest cleared\n", port)
	return nil
}

// installDigests sets the config file's per-port digests: once the ports'
// tables exist, before forwarding starts.
func (a *app) installDigests() error {
	ports := make([]uint16, 0, len(a.cfg.PortDigests))
	for id := range a.cfg.PortDigests {
		ports = append(ports, id)
	}
	slices.Sort(ports)
	for _, id := range ports {
		s := a.cfg.PortDigests[id]
		dev := ""
		if p := a.port(id); p != nil {
			dev = p.Info().Device
		} else if t := pmd.TapByID(id); t != nil {
			dev = t.Name()
		}
		if dev != s.Device {
			return fmt.Errorf("--config %s: the ports entry %s was given port id %d, but port %d is %q", a.cfg.ConfigFile, s.Device, id, id, dev)
		}
		ec, err := s.Config()
		if err != nil {
			return fmt.Errorf("--config %s: %s: %w", a.cfg.ConfigFile, s.Device, err)
		}
		c := pipeline.DigestConfig{Alg: ec.Alg, Key: ec.Key, Len: ec.Size}
		if c.Mode, err = pipeline.ParseDigestMode(s.Mode); err != nil {
			return fmt.Errorf("--config %s: %s: %w", a.cfg.ConfigFile, s.Device, err)
		}
		if err := a.digests().Set(id, c); err != nil {
			return fmt.Errorf("--config %s: %s: %w", a.cfg.ConfigFile, s.Device, err)
		}
		log.Info().Uint16("port", id).Stringer("digest", c).Msg("digest set")
		if use := a.digestUse(id); use != "" {
			log.Warn().Uint16("port", id).Msgf("a digest on a port that %s: give it offloads: {tx: [digest], rx: [digest_verify]}", use)
		}
	}
	return nil
}
