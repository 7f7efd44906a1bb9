package esp

import (
	"errors"
	"fmt"
	"net/netip"
)

// Replay windows (RFC 4303 §3.4.3: 32 packets at least, 64 by default).
const (
	DefaultReplayWindow = 64
	MaxReplayWindow     = 4096
)

// DefaultTTL is a tunnel's outer TTL or hop limit when Config.TTL is 0.
const DefaultTTL = 64

// MinSPI is the smallest SPI an SA may have: 1 to 255 are reserved by IANA
// and 0 is local use only (RFC 4303 §2.1).
const MinSPI = 256

// ErrConfig is wrapped by every error Config.Validate returns.
var ErrConfig = errors.New("invalid SA")

// Config describes an SA. Printing or marshalling it never shows the keys
// (see Key).
type Config struct {
	// Name is an optional label for show output.
	Name string    `json:"name,omitempty"`
	SPI  uint32    `json:"spi"`
	Dir  Direction `json:"dir"`
	Mode Mode      `json:"mode"`
	Alg  Algorithm `json:"alg"`
	// EncKey is the encryption key material: for GCM the AES key then the
	// 4-byte salt (20 or 36 bytes, RFC 4106 §8.1, as Linux's rfc4106
	// keys), for CBC the AES key (16 or 32 bytes).
	EncKey Key `json:"enc_key"`
	// AuthKey is the HMAC-SHA-256 key, 32 bytes (RFC 4868 §2.1.1); empty
	// for GCM.
	AuthKey Key `json:"auth_key"`
	// ESN selects 64-bit extended sequence numbers (RFC 4303 §2.2.1): the
	// high 32 bits are authenticated but not sent.
	ESN bool `json:"esn"`
	// ReplayWindow is the inbound anti-replay window in packets: 0 is
	// DefaultReplayWindow, at most MaxReplayWindow.
	ReplayWindow int `json:"replay_window,omitempty"`
	// Src and Dst are the SA's endpoints, as `ip xfrm state` has them. In
	// tunnel mode they are required and are the outer header's addresses;
	// their family is the outer IP version. In transport mode they are
	// optional: when set, the SA carries only that family. For an inbound
	// SA a valid Dst narrows the lookup to packets sent to it (RFC 4301
	// §4.1: SPI and destination).
	Src netip.Addr `json:"src,omitzero"`
	Dst netip.Addr `json:"dst,omitzero"`
	// TTL is a tunnel's outer TTL or hop limit; 0 is DefaultTTL.
	TTL uint8 `json:"ttl,omitempty"`
	// DF is how a tunnel's outer IPv4 header sets DF.
	DF DFPolicy `json:"df,omitempty"`
}

// Family is the IP version the SA's addresses name (4 or 6), or 0 when it
// has none (a transport SA for both).
func (c *Config) Family() int {
	switch {
	case c.Dst.Is4() || (!c.Dst.IsValid() && c.Src.Is4()):
		return 4
	case c.Dst.Is6() || c.Src.Is6():
		return 6
	}
	return 0
}

// Window is the replay window the SA uses.
func (c *Config) Window() int {
	if c.ReplayWindow == 0 {
		return DefaultReplayWindow
	}
	return c.ReplayWindow
}

// Validate checks c and says what is wrong with it, naming the field.
func (c *Config) Validate() error {
	bad := func(format string, a ...any) error {
		return fmt.Errorf("%w: spi %#x: %s", ErrConfig, c.SPI, fmt.Sprintf(format, a...))
	}
	if c.SPI < MinSPI {
		return bad("spi below %d is reserved (RFC 4303 §2.1)", MinSPI)
	}
	if c.Dir != Inbound && c.Dir != Outbound {
		return bad("direction must be in or out")
	}
	if c.Mode != Tunnel && c.Mode != Transport {
		return bad("mode must be tunnel or transport")
	}
	if !c.Alg.Valid() {
		return bad("no algorithm")
	}
	if n, want := c.EncKey.Len(), c.Alg.EncKeyLen(); n != want {
		if c.Alg.AEAD() {
			return bad("enc key: %d bytes, %v takes %d (a %d-byte key and a %d-byte salt)", n, c.Alg, want, c.Alg.KeyLen(), SaltLen)
		}
		return bad("enc key: %d bytes, %v takes %d", n, c.Alg, want)
	}
	if n, want := c.AuthKey.Len(), c.Alg.AuthKeyLen(); n != want {
		if want == 0 {
			return bad("auth key: %v authenticates with its own key; give none", c.Alg)
		}
		return bad("auth key: %d bytes, HMAC-SHA-256-128 takes %d", n, want)
	}
	if c.ReplayWindow < 0 || c.ReplayWindow > MaxReplayWindow {
		return bad("replay window %d: from 1 to %d packets (0: %d)", c.ReplayWindow, MaxReplayWindow, DefaultReplayWindow)
	}
	if c.Src.IsValid() && c.Dst.IsValid() && c.Src.Is4() != c.Dst.Is4() {
		return bad("src %v and dst %v are of different IP versions", c.Src, c.Dst)
	}
	for _, a := range [...]netip.Addr{c.Src, c.Dst} {
		if a.Is4In6() || a.Zone() != "" {
			return bad("address %v: give a plain IPv4 or IPv6 address", a)
		}
	}
	if c.Mode == Tunnel && (!c.Src.IsValid() || !c.Dst.IsValid()) {
		return bad("tunnel mode needs src and dst (the outer header's addresses)")
	}
	if c.DF > DFClear {
		return bad("df policy %d unknown", c.DF)
	}
	return nil
}
