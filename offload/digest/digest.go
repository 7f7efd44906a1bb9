// Package digest is offloadpmd's message-digest engine: HMAC-SHA-256,
// SHA-256 or CRC32C (Castagnoli) over a packet's L4 payload, independent
// of ESP.
//
// The payload is what follows the TCP or UDP header (for other protocols,
// what follows the IP header) up to the end the IP header states; it is
// found with the packet's header.Layout. The digest either goes beside the
// packet (Sum: for a dynfield of MaxSize bytes) and is checked on RX with
// Verify, or travels in the packet: Append adds it after the L4 payload
// and fixes the IP and UDP lengths and the checksums, so that the packet
// stays valid on the wire and a receiver can check it; VerifyStrip checks
// and removes it. The digest is the payload's digest, the bytes appended
// are not part of it.
//
// Appending to a TCP segment puts bytes into the TCP stream: the receiving
// side must strip them before its TCP sees the segment. UDP datagrams just
// grow.
//
// A Digester keeps hash state and is used by one lcore; nothing allocates
// per packet.
package digest

import (
	"crypto/hmac"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/binary"
	"fmt"
	"hash"
	"hash/crc32"
	"io"
	"math"
	"strings"

	"github.com/offloadpmd/offloadpmd/offload/checksum"
	"github.com/offloadpmd/offloadpmd/offload/esp"
	"github.com/offloadpmd/offloadpmd/offload/header"
)

var be = binary.BigEndian

// MaxSize is the longest digest: SHA-256's 32 bytes. A dynfield that holds
// any digest is MaxSize bytes.
const MaxSize = sha256.Size

// MinTruncated is the shortest an HMAC-SHA-256 or SHA-256 digest may be
// truncated to: half its length (RFC 2104 §5).
const MinTruncated = sha256.Size / 2

// Algorithm is a digest.
type Algorithm uint8

// Algorithms.
const (
	AlgNone Algorithm = iota
	// HMACSHA256 is HMAC with SHA-256 (RFC 2104, FIPS 180-4), keyed.
	HMACSHA256
	// SHA256 is SHA-256, unkeyed: it detects damage, not forgery.
	SHA256
	// CRC32C is the Castagnoli CRC (RFC 3720 §12.1), 4 bytes big-endian.
	CRC32C
	numAlgorithms
)

var algNames = [numAlgorithms]string{"none", "hmac-sha256", "sha256", "crc32c"}

func (a Algorithm) String() string {
	if a < numAlgorithms {
		return algNames[a]
	}
	return "unknown"
}

// FullSize is the algorithm's untruncated digest length.
func (a Algorithm) FullSize() int {
	switch a {
	case HMACSHA256, SHA256:
		return sha256.Size
	case CRC32C:
		return crc32.Size
	}
	return 0
}

// ParseAlgorithm reads "hmac-sha256", "sha256" or "crc32c".
func ParseAlgorithm(s string) (Algorithm, error) {
	for a := AlgNone + 1; a < numAlgorithms; a++ {
		if strings.EqualFold(s, algNames[a]) {
			return a, nil
		}
	}
	return AlgNone, fmt.Errorf("unknown digest %q; known: %s", s, strings.Join(algNames[1:], ", "))
}

// MarshalText implements encoding.TextMarshaler.
func (a Algorithm) MarshalText() ([]byte, error) { return []byte(a.String()), nil }

// UnmarshalText implements encoding.TextUnmarshaler with ParseAlgorithm.
func (a *Algorithm) UnmarshalText(b []byte) (err error) {
	*a, err = ParseAlgorithm(string(b))
	return err
}

// Config is a digest task. Printing or marshalling it never shows the key.
type Config struct {
	Alg Algorithm `json:"alg"`
	// Key is the HMAC key (HMACSHA256 only). It should be 32 bytes or
	// more (RFC 2104 §3); a key over 64 bytes is hashed first.
	Key esp.Key `json:"key"`
	// Size is how many leading bytes of the digest are kept: 0 is the
	// whole digest; HMAC-SHA-256 and SHA-256 may be truncated to
	// MinTruncated bytes or more; CRC32C is 4 bytes.
	Size int `json:"size,omitempty"`
}

// Reason says why a packet has no digest, or that its digest is wrong; OK
// means it was computed or verified. Each is a counter.
type Reason uint8

// Reasons.
const (
	OK Reason = iota
	// NotIP: the frame is neither IPv4 nor IPv6.
	NotIP
	// Fragment: an IP fragment; digest the reassembled datagram.
	Fragment
	// Malformed: the layout does not fit the frame.
	Malformed
	// NotL4: Append or VerifyStrip of a packet that is neither TCP nor
	// UDP, whose lengths it could not fix.
	NotL4
	// NoTailroom: no room after the frame for the digest.
	NoTailroom
	// TooBig: the packet with its digest would exceed IP's 65535 bytes.
	TooBig
	// OutputShort: Sum's output is shorter than Size.
	OutputShort
	// Short: VerifyStrip of a payload shorter than a digest.
	Short
	// Mismatch: the digest is wrong: the payload was changed or forged.
	Mismatch
	numReasons
)

var reasonNames = [numReasons]string{
	OK:          "ok",
	NotIP:       "digest-not-ip",
	Fragment:    "digest-fragment",
	Malformed:   "digest-malformed",
	NotL4:       "digest-not-tcp-udp",
	NoTailroom:  "digest-no-tailroom",
	TooBig:      "digest-too-big",
	OutputShort: "digest-output-short",
	Short:       "digest-short",
	Mismatch:    "digest-mismatch",
}

func (r Reason) String() string {
	if r < numReasons {
		return reasonNames[r]
	}
	return "digest-unknown"
}

// Reasons lists every reason (OK excluded), for counter tables.
func Reasons() []Reason {
	rs := make([]Reason, 0, numReasons-1)
	for r := OK + 1; r < numReasons; r++ {
		rs = append(rs, r)
	}
	return rs
}

// Checksum says how Append and VerifyStrip leave the packet's checksums.
type Checksum uint8

// Checksum modes.
const (
	// Full: the IPv4 header checksum and the TCP or UDP checksum are
	// computed in full (a UDP checksum of 0 over IPv4, none, stays 0).
	Full Checksum = iota
	// Pseudo: the IPv4 header checksum is 0 and the L4 checksum field
	// holds the pseudo-header sum, for the NIC or a later checksum stage
	// to complete (DPDK's rte_net_intel_cksum_prepare contract).
	Pseudo
)

// Digester computes one algorithm's digests. It is not safe for
// concurrent use: make one per lcore.
type Digester struct {
	alg  Algorithm
	size int
	h    hash.Hash // HMAC or SHA-256, reset per packet
	crc  *crc32.Table
	sum  [MaxSize]byte
}

// New validates cfg and makes a Digester.
func New(cfg Config) (*Digester, error) {
	d := &Digester{alg: cfg.Alg, size: cfg.Size}
	full := cfg.Alg.FullSize()
	if d.size == 0 {
		d.size = full
	}
	switch cfg.Alg {
	case HMACSHA256:
		if cfg.Key.Len() == 0 {
			return nil, fmt.Errorf("digest %v: no key", cfg.Alg)
		}
		d.h = hmac.New(sha256.New, cfg.Key.Bytes())
	case SHA256:
		if cfg.Key.Len() != 0 {
			return nil, fmt.Errorf("digest %v takes no key (use %v)", cfg.Alg, HMACSHA256)
		}
		d.h = sha256.New()
	case CRC32C:
		if cfg.Key.Len() != 0 {
			return nil, fmt.Errorf("digest %v takes no key", cfg.Alg)
		}
		d.crc = crc32.MakeTable(crc32.Castagnoli)
	default:
		return nil, fmt.Errorf("digest: no algorithm; known: %s", strings.Join(algNames[1:], ", "))
	}
	if d.size > full || d.size < min(full, MinTruncated) {
		return nil, fmt.Errorf("digest %v: size %d: from %d to %d bytes", cfg.Alg, cfg.Size, min(full, MinTruncated), full)
	}
	return d, nil
}

// Alg is the Digester's algorithm.
func (d *Digester) Alg() Algorithm { return d.alg }

// Size is the length of the digests it makes.
func (d *Digester) Size() int { return d.size }

// String describes the Digester (never its key).
func (d *Digester) String() string { return fmt.Sprintf("%v/%d", d.alg, d.size) }

// Format implements fmt.Formatter: every verb prints String.
func (d *Digester) Format(f fmt.State, _ rune) { _, _ = io.WriteString(f, d.String()) }

// Payload returns the L4 payload of frame, whose headers l describes: from
// the end of the TCP or UDP header (or of the IP header for other
// protocols) to the end of the IP packet.
func Payload(frame []byte, l *header.Layout) ([]byte, Reason) {
	switch {
	case l.L3 == header.L3None:
		return nil, NotIP
	case l.Fragment:
		return nil, Fragment
	case l.PktLen > len(frame) || l.PayloadOff() > l.PktLen ||
		(l.L4Proto == header.ProtoTCP || l.L4Proto == header.ProtoUDP) && l.L4Len == 0:
		return nil, Malformed
	}
	return frame[l.PayloadOff():l.PktLen], OK
}

// digest computes the digest of b into d.sum and returns its Size bytes.
func (d *Digester) digest(b []byte) []byte {
	if d.crc != nil {
		be.PutUint32(d.sum[:], crc32.Update(0, d.crc, b))
		return d.sum[:crc32.Size]
	}
	d.h.Reset()
	d.h.Write(b)
	return d.h.Sum(d.sum[:0])[:d.size]
}

// Sum writes the digest of frame's L4 payload into out[:Size()].
func (d *Digester) Sum(frame []byte, l *header.Layout, out []byte) Reason {
	if len(out) < d.size {
		return OutputShort
	}
	p, why := Payload(frame, l)
	if why != OK {
		return why
	}
	copy(out, d.digest(p))
	return OK
}

// Verify checks want (Size bytes, as Sum wrote them) against the digest
// of frame's L4 payload, in constant time: OK or Mismatch.
func (d *Digester) Verify(frame []byte, l *header.Layout, want []byte) Reason {
	p, why := Payload(frame, l)
	if why != OK {
		return why
	}
	if len(want) != d.size || subtle.ConstantTimeCompare(d.digest(p), want) != 1 {
		return Mismatch
	}
	return OK
}

// Append writes the digest of frame's L4 payload after it, in the
// frame's capacity (its tailroom), and fixes the IP length (IPv4 total
// length, IPv6 payload length), the UDP length and the checksums as csum
// says. Ethernet padding after the IP packet is overwritten. It returns
// the longer frame and updates l.PktLen. TCP and UDP only.
func (d *Digester) Append(frame []byte, l *header.Layout, csum Checksum) ([]byte, Reason) {
	p, why := Payload(frame, l)
	if why != OK {
		return frame, why
	}
	if l.L4Proto != header.ProtoTCP && l.L4Proto != header.ProtoUDP {
		return frame, NotL4
	}
	end := l.PktLen + d.size
	if end > cap(frame) {
		return frame, NoTailroom
	}
	if why := resize(frame[:end], l, d.size); why != OK {
		return frame, why
	}
	sum := d.digest(p)
	frame = frame[:end]
	copy(frame[l.PktLen:], sum)
	l.PktLen = end
	fixChecksums(frame, l, csum)
	return frame, OK
}

// VerifyStrip checks a digest Append wrote: the last Size bytes of the L4
// payload against the digest of the bytes before them. On OK it removes
// them, fixing lengths and checksums as csum says, and returns the shorter
// frame (l.PktLen updated); on Mismatch the frame is left as it was.
func (d *Digester) VerifyStrip(frame []byte, l *header.Layout, csum Checksum) ([]byte, Reason) {
	p, why := Payload(frame, l)
	if why != OK {
		return frame, why
	}
	if l.L4Proto != header.ProtoTCP && l.L4Proto != header.ProtoUDP {
		return frame, NotL4
	}
	if len(p) < d.size {
		return frame, Short
	}
	body, got := p[:len(p)-d.size], p[len(p)-d.size:]
	if subtle.ConstantTimeCompare(d.digest(body), got) != 1 {
		return frame, Mismatch
	}
	if why := resize(frame, l, -d.size); why != OK {
		return frame, why
	}
	l.PktLen -= d.size
	frame = frame[:l.PktLen]
	fixChecksums(frame, l, csum)
	return frame, OK
}

// resize changes the IP and UDP lengths of frame by delta bytes.
func resize(frame []byte, l *header.Layout, delta int) Reason {
	ip := frame[l.L3Off():]
	if l.L3 == header.L3IPv4 {
		n := int(header.IPv4(ip).TotalLen()) + delta
		if n > math.MaxUint16 {
			return TooBig
		}
		header.IPv4(ip).SetTotalLen(uint16(n))
	} else {
		n := int(header.IPv6(ip).PayloadLen()) + delta
		if n > math.MaxUint16 {
			return TooBig
		}
		header.IPv6(ip).SetPayloadLen(uint16(n))
	}
	if l.L4Proto == header.ProtoUDP {
		u := header.UDP(frame[l.L4Off():])
		u.SetLength(uint16(int(u.Length()) + delta))
	}
	return OK
}

// fixChecksums sets the IPv4 and L4 checksums of frame after a resize.
func fixChecksums(frame []byte, l *header.Layout, csum Checksum) {
	v6 := l.L3 == header.L3IPv6
	if !v6 {
		ip := header.IPv4(frame[l.L3Off():])
		if csum == Pseudo {
			ip.SetChecksum(0)
		} else {
			checksum.SetIPv4(ip)
		}
	}
	if csum == Pseudo {
		checksum.PreparePseudo(frame, l, false)
		return
	}
	if l.L4Proto == header.ProtoUDP && !v6 && header.UDP(frame[l.L4Off():]).Checksum() == 0 {
		return // IPv4 UDP without a checksum stays without
	}
	checksum.SetL4Flat(frame[l.L3Off():], frame[l.L4Off():l.PktLen], v6, l.L4Proto)
}
