package pipeline

import (
	"fmt"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/offloadpmd/offloadpmd/offload"
	"github.com/offloadpmd/offloadpmd/offload/checksum"
	"github.com/offloadpmd/offloadpmd/offload/digest"
	"github.com/offloadpmd/offloadpmd/offload/esp"
	"github.com/offloadpmd/offloadpmd/offload/header"
	"github.com/offloadpmd/offloadpmd/pmd"
)

// Message digests in the data path (offload/digest does the work), over
// a packet's L4 payload, independent of ESP:
//
//   - TX: a packet asks for a digest with the opmd_dynflag_tx_digest
//     dynamic flag, checked like any task against what the requesting
//     side enabled (tx_offload digest). With opmd_dynflag_tx_digest_append
//     as well, the digest is appended to the L4 payload (TCP or UDP), the
//     IP and UDP lengths fixed; otherwise it is written into the
//     opmd_dynfield_digest dynamic field (DigestDynfieldSize bytes), the
//     packet unchanged. An mbuf
//     cannot carry a key: the digest and its key are the requesting
//     port's (DigestConfigs; for an engine's own requests, the egress
//     port's). The digest comes before the checksums, which cover an
//     appended digest, and before ESP, which encrypts it with the rest.
//     A digest and a segmentation are refused together
//     (refused-digest-with-segmentation): a digest covers one packet,
//     the sender segments first. Each failure drops the packet, counted
//     drop-digest-<reason>; a chained mbuf is not taken
//     (drop-digest-multi-segment), nor a request from a port without a
//     digest configuration (drop-digest-no-config).
//   - RX: on a port with digest_verify enabled, each packet's digest is
//     checked after decryption and checksum verification, before
//     assembly, as the port's configuration says: appended (checked and
//     stripped, lengths and checksums fixed) or in the dynamic field. The
//     verdict is a dynamic flag, opmd_dynflag_rx_digest_good or _bad, and
//     a counter, digest-verified-good or -bad; nothing is dropped. A
//     packet without a digest to check (not TCP or UDP, an IP fragment,
//     a payload shorter than a digest, ...) gets neither flag and is
//     counted under digest-<reason>. Fragments are not verified even
//     where reassembly follows: a digest covers one IP packet.

// Names of the digest's dynamic flags and field.
const (
	DigestFlagName       = "opmd_dynflag_tx_digest"
	DigestAppendFlagName = "opmd_dynflag_tx_digest_append"
	DigestGoodFlagName   = "opmd_dynflag_rx_digest_good"
	DigestBadFlagName    = "opmd_dynflag_rx_digest_bad"
	// DigestDynfieldName is a DigestDynfieldSize-byte field: a digest's
	// bytes from its start (a shorter digest leaves the rest zero).
	DigestDynfieldName = "opmd_dynfield_digest"
)

// DigestDynfieldSize is the dynamic field's size: the longest digest that
// travels beside a packet. Not SHA-256's 32 bytes: DPDK 22.11's mbuf has
// 36 bytes for every dynamic field (dynfield1), of which the ESP SA index
// takes 4 and net_pcap's RX timestamp, registered by every pcap port, 8.
// HMAC-SHA-256 and SHA-256 truncated to 16 to 24 bytes and CRC32C fit;
// a longer digest is appended, or refused (drop-digest-output-short).
const DigestDynfieldSize = 24

// DigestMode says where a port's received packets carry their digests.
type DigestMode uint8

// Digest modes.
const (
	// DigestModeAppend: after the L4 payload, as the TX append request puts
	// it.
	DigestModeAppend DigestMode = iota
	// DigestModeDynfield: in the opmd_dynfield_digest dynamic field.
	DigestModeDynfield
)

var digestModeNames = [...]string{DigestModeAppend: "append", DigestModeDynfield: "dynfield"}

func (m DigestMode) String() string {
	if int(m) < len(digestModeNames) {
		return digestModeNames[m]
	}
	return "unknown"
}

// ParseDigestMode reads "append" or "dynfield".
func ParseDigestMode(s string) (DigestMode, error) {
	for i, n := range digestModeNames {
		if strings.EqualFold(s, n) {
			return DigestMode(i), nil
		}
	}
	return 0, fmt.Errorf("unknown digest mode %q; known: append, dynfield", s)
}

// MarshalText implements encoding.TextMarshaler.
func (m DigestMode) MarshalText() ([]byte, error) { return []byte(m.String()), nil }

// UnmarshalText implements encoding.TextUnmarshaler with ParseDigestMode.
func (m *DigestMode) UnmarshalText(b []byte) (err error) {
	*m, err = ParseDigestMode(string(b))
	return err
}

// DigestConfig is a port's digest: what its TX requests get, and what its
// received packets are checked against. Printing or marshalling it never
// shows the key.
type DigestConfig struct {
	Alg digest.Algorithm `json:"alg"`
	Key esp.Key          `json:"key"` // HMAC-SHA-256 only
	// Len is how many leading bytes of the digest are kept; 0 is all.
	Len int `json:"len,omitempty"`
	// Mode is where received digests are (TX requests say where theirs
	// go).
	Mode DigestMode `json:"mode"`
}

// Engine is the digest engine's configuration.
func (c DigestConfig) Engine() digest.Config {
	return digest.Config{Alg: c.Alg, Key: c.Key, Size: c.Len}
}

// Size is the length of the digests the configuration makes.
func (c DigestConfig) Size() int {
	if c.Len != 0 {
		return c.Len
	}
	return c.Alg.FullSize()
}

// String describes the configuration (never its key).
func (c DigestConfig) String() string {
	s := fmt.Sprintf("%v/%d %v", c.Alg, c.Size(), c.Mode)
	if c.Key.Len() > 0 {
		s += fmt.Sprintf(" key %v (%d bytes)", c.Key, c.Key.Len())
	}
	return s
}

// DigestConfigs holds each port's digest configuration, published by
// atomic swap: lcores load a port's once per burst.
type DigestConfigs struct {
	mu sync.Mutex
	by [offload.MaxPorts]atomic.Pointer[DigestConfig]
}

// Set validates c and makes it port's configuration.
func (d *DigestConfigs) Set(port uint16, c DigestConfig) error {
	if int(port) >= len(d.by) {
		return fmt.Errorf("digest: port %d: want 0..%d", port, len(d.by)-1)
	}
	if c.Mode > DigestModeDynfield {
		return fmt.Errorf("digest: mode %d: want append or dynfield", c.Mode)
	}
	if c.Mode == DigestModeDynfield && c.Size() > DigestDynfieldSize {
		return fmt.Errorf("digest %v of %d bytes: the dynamic field holds %d; give a length of %d to %d, or append",
			c.Alg, c.Size(), DigestDynfieldSize, min(c.Alg.FullSize(), digest.MinTruncated), DigestDynfieldSize)
	}
	if _, err := digest.New(c.Engine()); err != nil {
		return err
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	d.by[port].Store(&c)
	return nil
}

// Clear removes port's configuration.
func (d *DigestConfigs) Clear(port uint16) {
	if int(port) < len(d.by) {
		d.by[port].Store(nil)
	}
}

// Load is port's configuration (nil: none).
func (d *DigestConfigs) Load(port uint16) *DigestConfig {
	if d == nil || int(port) >= len(d.by) {
		return nil
	}
	return d.by[port].Load()
}

// registerDigest registers the digest's dynamic flags and field.
func (o *Offload) registerDigest() error {
	for _, f := range []struct {
		name string
		dst  *pmd.Dynflag
	}{{DigestFlagName, &o.Digest}, {DigestAppendFlagName, &o.DigestAppend}, {DigestGoodFlagName, &o.DigestGood}, {DigestBadFlagName, &o.DigestBad}} {
		d, err := pmd.RegisterDynflag(f.name)
		if err != nil {
			return err
		}
		*f.dst = d
	}
	d, err := pmd.RegisterDynfield(DigestDynfieldName, DigestDynfieldSize, 8)
	if err != nil {
		return err
	}
	o.DigestField = d
	return nil
}

// digestView is a burst's view of the digest configurations: loaded with
// the burst, so a change applies from the next one.
type digestView struct {
	brought *DigestConfig // the RX port's, when it enables digest requests
	own     *DigestConfig // the TX port's, when it enables digest requests
	rx      *DigestConfig // the RX port's, when it verifies
	verify  bool          // the RX port verifies digests
}

func (s *Stream) loadDigest(b *burstView) {
	c := s.off.cfg.Digests
	if c == nil {
		return
	}
	if b.rx != nil && b.rx.RxBy(offload.RxDigestVerify) == offload.PerformSoftware {
		b.dig.verify, b.dig.rx = true, c.Load(s.RxPort)
	}
	if b.allowedBrought.Has(offload.TxDigest) {
		b.dig.brought = c.Load(s.RxPort)
	}
	if b.allowedOwn.Has(offload.TxDigest) {
		b.dig.own = c.Load(s.TxPort)
	}
}

// digestState is a stream's digesters, made from the configurations
// they were made for (a new configuration makes a new one: never per
// packet).
type digestState struct {
	txCfg, rxCfg *DigestConfig
	tx, rx       *digest.Digester
}

// digester returns the Digester for c, remade when c is not the one the
// cached d was made for; nil without a configuration.
func digester(c *DigestConfig, made **DigestConfig, d **digest.Digester) *digest.Digester {
	if c == nil {
		return nil
	}
	if c != *made {
		nd, err := digest.New(c.Engine())
		if err != nil {
			return nil // Set validated it: not reached
		}
		*made, *d = c, nd
	}
	return *d
}

// digestTx performs m's digest request (the batch's TaskDigest step, as
// Decode accepted it) before its checksums. It reports false, m dropped
// and counted, if it cannot.
func (s *Stream) digestTx(m *pmd.Mbuf, b *burstView, own bool) bool {
	o := s.off
	c := b.dig.brought
	if own {
		c = b.dig.own
	}
	d := digester(c, &o.dig.txCfg, &o.dig.tx)
	switch {
	case d == nil:
		s.dropCounted(m, DigestNoConfig)
		return false
	case m.NbSegs() > 1:
		s.dropCounted(m, DigestMultiSegment)
		return false
	}
	cfg := o.cfg
	l := &o.batch.Layout
	off := int(m.DataOff())
	frame := m.Buf()[off : off+int(m.DataLen())]
	if cfg.DigestAppend.Test(m) {
		// With an L4 checksum to come (in software or by the device), the
		// field is left holding the pseudo-header sum that task starts
		// from (a Partial request's contract, and the device's); the
		// IPv4 header checksum then too, or it is computed here.
		l4, ip := false, false
		for _, st := range o.batch.Tasks() {
			l4 = l4 || st.Task == offload.TaskL4Cksum
			ip = ip || st.Task == offload.TaskIPv4Cksum
		}
		mode := digest.Full
		if l4 {
			mode = digest.Pseudo
		}
		grown, why := d.Append(frame, l, mode)
		if why != digest.OK {
			s.dropCounted(m, DigestDropped(why))
			return false
		}
		if l4 && !ip && l.L3 == header.L3IPv4 {
			checksum.SetIPv4(header.IPv4(grown[l.L3Off():]))
		}
		m.SetSpan(off, len(grown))
	} else {
		field := cfg.DigestField.Bytes(m)
		if why := d.Sum(frame, l, field); why != digest.OK {
			s.dropCounted(m, DigestDropped(why))
			return false
		}
		clear(field[d.Size():])
	}
	m.SetOlFlags(m.OlFlags() &^ (cfg.Digest.Mask() | cfg.DigestAppend.Mask()))
	s.cnt.Inc(int(SoftwareTask(offload.TaskDigest)))
	return true
}

// verifyDigests is the RX digest stage: each packet's digest is checked
// as the RX port's configuration says, the verdict set in its dynamic
// flags. Packets carrying TX requests are outgoing and not checked.
// Nothing is dropped.
func (s *Stream) verifyDigests(pkts []*pmd.Mbuf, b *burstView) {
	o := s.off
	cfg := o.cfg
	d := digester(b.dig.rx, &o.dig.rxCfg, &o.dig.rx)
	good, bad := cfg.DigestGood.Mask(), cfg.DigestBad.Mask()
	l := &o.layout
	for _, m := range pkts {
		if o.hasRequest(m) {
			continue
		}
		f := m.OlFlags() &^ (good | bad)
		m.SetOlFlags(f)
		switch {
		case d == nil:
			s.cnt.Inc(int(DigestRxNoConfig))
			continue
		case m.NbSegs() > 1:
			s.cnt.Inc(int(DigestRxMultiSegment))
			continue
		}
		if mal := header.ParseHeadInto(m.Data(), int(m.PktLen()), l); mal != header.OK {
			s.cnt.Inc(int(DigestUnverified(digest.Malformed)))
			continue
		}
		off := int(m.DataOff())
		frame := m.Buf()[off : off+int(m.DataLen())]
		var why digest.Reason
		if b.dig.rx.Mode == DigestModeDynfield {
			want := cfg.DigestField.Bytes(m)
			want = want[:min(len(want), d.Size())] // Set made sure it is d.Size()
			why = d.Verify(frame, l, want)
		} else {
			var out []byte
			if out, why = d.VerifyStrip(frame, l, digest.Full); why == digest.OK {
				m.SetSpan(off, len(out))
			}
		}
		switch why {
		case digest.OK:
			m.SetOlFlags(f | good)
			s.cnt.Inc(int(DigestVerifiedGood))
		case digest.Mismatch:
			m.SetOlFlags(f | bad)
			s.cnt.Inc(int(DigestVerifiedBad))
		default:
			s.cnt.Inc(int(DigestUnverified(why)))
		}
	}
}
