package esp

import (
	"fmt"
	"strings"
)

// Wire sizes (RFC 4303 §2, RFC 4106 §3, RFC 3602 §3, RFC 4868 §2.3).
const (
	// HeaderLen is the ESP header: SPI and sequence number.
	HeaderLen = 8
	// TrailerLen is the pad length and next header bytes.
	TrailerLen = 2
	// ICVLen is the integrity check value of every algorithm here: GCM's
	// full 16-byte tag and HMAC-SHA-256 truncated to 128 bits.
	ICVLen = 16
	// SaltLen is the GCM salt taken from the end of the key material
	// (RFC 4106 §8.1).
	SaltLen = 4
	// NonceLen is the GCM nonce: salt and explicit IV (RFC 4106 §4).
	NonceLen = 12
	// MaxIVLen is the longest IV on the wire (AES-CBC's block).
	MaxIVLen = 16
	// MaxAADLen is GCM's AAD with extended sequence numbers: SPI, then
	// the 64-bit sequence number (RFC 4106 §5).
	MaxAADLen = 12
	// AuthKeyLen is the HMAC-SHA-256-128 key (RFC 4868 §2.1.1).
	AuthKeyLen = 32
)

// Algorithm is an SA's transform.
type Algorithm uint8

// Algorithms. The names are strongSwan's proposal keywords, which IPsec
// users know.
const (
	AlgNone Algorithm = iota
	// AESGCM128 is AES-GCM with a 128-bit key, an 8-byte IV and a 16-byte
	// ICV (RFC 4106); its key material is the key and a 4-byte salt.
	AESGCM128
	// AESGCM256 is AESGCM128 with a 256-bit key.
	AESGCM256
	// AESCBC128SHA256 is AES-CBC with a 128-bit key and a 16-byte IV
	// (RFC 3602), authenticated by HMAC-SHA-256 truncated to 128 bits
	// (RFC 4868) with a 256-bit key.
	AESCBC128SHA256
	// AESCBC256SHA256 is AESCBC128SHA256 with a 256-bit AES key.
	AESCBC256SHA256
	numAlgorithms
)

type algInfo struct {
	name   string
	alias  string // the long spelling ParseAlgorithm also takes
	keyLen int    // AES key bytes
	ivLen  int    // IV bytes on the wire
	align  int    // what payload, padding and trailer are padded to
	aead   bool
}

var algs = [numAlgorithms]algInfo{
	AlgNone:         {name: "none"},
	AESGCM128:       {"aes128gcm16", "aes-gcm-128", 16, 8, 4, true},
	AESGCM256:       {"aes256gcm16", "aes-gcm-256", 32, 8, 4, true},
	AESCBC128SHA256: {"aes128-sha256", "aes-cbc-128-hmac-sha256", 16, 16, 16, false},
	AESCBC256SHA256: {"aes256-sha256", "aes-cbc-256-hmac-sha256", 32, 16, 16, false},
}

func (a Algorithm) info() *algInfo {
	if a < numAlgorithms {
		return &algs[a]
	}
	return &algs[AlgNone]
}

func (a Algorithm) String() string {
	if a < numAlgorithms {
		return algs[a].name
	}
	return "unknown"
}

// Valid reports whether a is one of the algorithms above.
func (a Algorithm) Valid() bool { return a > AlgNone && a < numAlgorithms }

// AEAD reports whether a is an AEAD (GCM) rather than a cipher with HMAC.
func (a Algorithm) AEAD() bool { return a.info().aead }

// IVLen is the length of the IV on the wire.
func (a Algorithm) IVLen() int { return a.info().ivLen }

// KeyLen is the AES key length in bytes.
func (a Algorithm) KeyLen() int { return a.info().keyLen }

// EncKeyLen is the length of Config.EncKey: for GCM the AES key followed
// by the 4-byte salt (RFC 4106 §8.1), for CBC the AES key.
func (a Algorithm) EncKeyLen() int {
	if a.AEAD() {
		return a.KeyLen() + SaltLen
	}
	return a.KeyLen()
}

// AuthKeyLen is the length of Config.AuthKey: 32 for HMAC-SHA-256, 0 for
// GCM.
func (a Algorithm) AuthKeyLen() int {
	if a.Valid() && !a.AEAD() {
		return AuthKeyLen
	}
	return 0
}

// Align is what the encrypted part (payload, padding, pad length and next
// header) is a multiple of: AES's block for CBC, 4 bytes for GCM (RFC 4303
// §2.4).
func (a Algorithm) Align() int { return a.info().align }

// Algorithms lists the valid algorithms.
func Algorithms() []Algorithm {
	out := make([]Algorithm, 0, numAlgorithms-1)
	for a := AlgNone + 1; a < numAlgorithms; a++ {
		out = append(out, a)
	}
	return out
}

// ParseAlgorithm reads an algorithm name: "aes128gcm16", "aes256gcm16",
// "aes128-sha256", "aes256-sha256", or the long forms "aes-gcm-128",
// "aes-cbc-128-hmac-sha256" and so on.
func ParseAlgorithm(s string) (Algorithm, error) {
	for a := AlgNone + 1; a < numAlgorithms; a++ {
		if strings.EqualFold(s, algs[a].name) || strings.EqualFold(s, algs[a].alias) {
			return a, nil
		}
	}
	names := make([]string, 0, numAlgorithms-1)
	for a := AlgNone + 1; a < numAlgorithms; a++ {
		names = append(names, algs[a].name)
	}
	return AlgNone, fmt.Errorf("unknown ESP algorithm %q; known: %s", s, strings.Join(names, ", "))
}

// Direction is whether an SA protects packets we send or checks packets we
// receive.
type Direction uint8

// Directions.
const (
	Inbound Direction = iota + 1
	Outbound
)

func (d Direction) String() string {
	switch d {
	case Inbound:
		return "in"
	case Outbound:
		return "out"
	}
	return "unknown"
}

// ParseDirection reads "in"/"inbound" or "out"/"outbound".
func ParseDirection(s string) (Direction, error) {
	switch strings.ToLower(s) {
	case "in", "inbound":
		return Inbound, nil
	case "out", "outbound":
		return Outbound, nil
	}
	return 0, fmt.Errorf("unknown SA direction %q; known: in, out", s)
}

// Mode is how ESP wraps a packet (RFC 4301 §4.1).
type Mode uint8

// Modes.
const (
	// Tunnel protects a whole IP packet inside a new outer IP header.
	Tunnel Mode = iota + 1
	// Transport protects the payload of an IP packet; the IP header stays.
	Transport
)

func (m Mode) String() string {
	switch m {
	case Tunnel:
		return "tunnel"
	case Transport:
		return "transport"
	}
	return "unknown"
}

// ParseMode reads "tunnel" or "transport".
func ParseMode(s string) (Mode, error) {
	switch strings.ToLower(s) {
	case "tunnel":
		return Tunnel, nil
	case "transport":
		return Transport, nil
	}
	return 0, fmt.Errorf("unknown SA mode %q; known: tunnel, transport", s)
}

// DFPolicy is how a tunnel's outer IPv4 header sets DF (RFC 4301 §8.1).
type DFPolicy uint8

// DF policies.
const (
	// DFCopy copies DF from an inner IPv4 header and clears it for an
	// inner IPv6 packet, as Linux does.
	DFCopy DFPolicy = iota
	// DFSet always sets DF.
	DFSet
	// DFClear never sets DF.
	DFClear
)

func (d DFPolicy) String() string {
	switch d {
	case DFCopy:
		return "copy"
	case DFSet:
		return "set"
	case DFClear:
		return "clear"
	}
	return "unknown"
}

// MarshalText implements encoding.TextMarshaler.
func (a Algorithm) MarshalText() ([]byte, error) { return []byte(a.String()), nil }

// UnmarshalText implements encoding.TextUnmarshaler with ParseAlgorithm.
func (a *Algorithm) UnmarshalText(b []byte) (err error) {
	*a, err = ParseAlgorithm(string(b))
	return err
}

// MarshalText implements encoding.TextMarshaler.
func (d Direction) MarshalText() ([]byte, error) { return []byte(d.String()), nil }

// UnmarshalText implements encoding.TextUnmarshaler with ParseDirection.
func (d *Direction) UnmarshalText(b []byte) (err error) {
	*d, err = ParseDirection(string(b))
	return err
}

// MarshalText implements encoding.TextMarshaler.
func (m Mode) MarshalText() ([]byte, error) { return []byte(m.String()), nil }

// UnmarshalText implements encoding.TextUnmarshaler with ParseMode.
func (m *Mode) UnmarshalText(b []byte) (err error) {
	*m, err = ParseMode(string(b))
	return err
}

// MarshalText implements encoding.TextMarshaler.
func (d DFPolicy) MarshalText() ([]byte, error) { return []byte(d.String()), nil }

// UnmarshalText implements encoding.TextUnmarshaler: copy, set or clear.
func (d *DFPolicy) UnmarshalText(b []byte) error {
	for p := DFCopy; p <= DFClear; p++ {
		if strings.EqualFold(string(b), p.String()) {
			*d = p
			return nil
		}
	}
	return fmt.Errorf("unknown DF policy %q; known: copy, set, clear", b)
}
