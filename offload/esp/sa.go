package esp

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"sync/atomic"

	"github.com/offloadpmd/offloadpmd/offload/header"
)

// SA is a security association: its configuration, its crypto state made
// once when it is added, and its per-packet state (the outbound sequence
// counter, the inbound replay window; see the package comment for who may
// touch them). An SA is created by Registry.Add and never copied. Printing
// or marshalling it shows no key material.
type SA struct {
	cfg   Config
	index uint16
	outer int // tunnel mode: outer IP header length
	// outerTmpl is a tunnel's outer header as far as it is the same in
	// every packet, outerSum (IPv4) the one's complement sum of its
	// 16-bit words; see writeOuter.
	outerTmpl [header.IPv6Len]byte
	outerSum  uint32
	window    int // replay window, packets

	// Made of cfg once: what every packet's framing needs.
	ivLen   int  // cfg.Alg.IVLen()
	padMask int  // cfg.Alg.Align() - 1
	spare   int  // esnSpare()
	fast4   bool // encrypts through encapTunnel4: outbound, tunnel, IPv4 outside

	// Crypto state, immutable. The secrets are behind a pointer so that
	// no reflection over an SA reaches them.
	aead    cipher.AEAD  // GCM with the SA's key
	block   cipher.Block // CBC: AES with the SA's key
	ivGen   cipher.Block // CBC: AES with a random key, makes IVs
	secrets *secrets

	// seq is the last sequence number sent (outbound).
	seq atomic.Uint64
	// replay is the inbound anti-replay window.
	replay window
}

type secrets struct {
	salt    [SaltLen]byte
	authKey []byte
	// ivMask is XORed into GCM IVs (sequence numbers): SAs that share a
	// key, as a hand-keyed pair often does, do not share nonces.
	ivMask uint64
}

// newSA validates cfg and builds an SA's crypto state.
func newSA(cfg Config, index uint16) (*SA, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	sa := &SA{cfg: cfg, index: index, window: cfg.Window(), secrets: &secrets{}}
	// The SA keeps its own copies of the keys.
	sa.cfg.EncKey = NewKey(cfg.EncKey.Bytes())
	sa.cfg.AuthKey = NewKey(cfg.AuthKey.Bytes())
	if cfg.Mode == Tunnel {
		sa.outer = header.IPv4MinLen
		if cfg.Family() == 6 {
			sa.outer = header.IPv6Len
		}
		sa.initOuter()
	}
	key := cfg.EncKey.Bytes()
	defer clear(key)
	block, err := aes.NewCipher(key[:cfg.Alg.KeyLen()])
	if err != nil {
		return nil, fmt.Errorf("%w: spi %#x: %v", ErrConfig, cfg.SPI, err)
	}
	if cfg.Alg.AEAD() {
		// RFC 4106's nonce is the salt and the explicit IV, 12 bytes: the
		// standard GCM nonce, so NewGCM (not NewGCMWithRandomNonce, whose
		// nonces are its own).
		if sa.aead, err = cipher.NewGCM(block); err != nil {
			return nil, fmt.Errorf("%w: spi %#x: %v", ErrConfig, cfg.SPI, err)
		}
		copy(sa.secrets.salt[:], key[cfg.Alg.KeyLen():])
		var m [8]byte
		if _, err := rand.Read(m[:]); err != nil {
			return nil, fmt.Errorf("spi %#x: IV mask: %w", cfg.SPI, err)
		}
		sa.secrets.ivMask = be.Uint64(m[:])
	} else {
		sa.block = block
		sa.secrets.authKey = cfg.AuthKey.Bytes()
		// CBC IVs must be unpredictable (RFC 3602 §2.3). Each is the
		// encryption of (sequence number, SPI) under a key of the SA's
		// own that never leaves it: unique per packet, and unpredictable
		// without that key (NIST SP 800-38A, appendix C).
		ivKey := make([]byte, cfg.Alg.KeyLen())
		if _, err := rand.Read(ivKey); err != nil {
			return nil, fmt.Errorf("spi %#x: IV key: %w", cfg.SPI, err)
		}
		sa.ivGen, _ = aes.NewCipher(ivKey)
		clear(ivKey)
	}
	sa.replay.init(sa.window)
	sa.ivLen, sa.padMask, sa.spare = cfg.Alg.IVLen(), cfg.Alg.Align()-1, sa.esnSpare()
	sa.fast4 = cfg.Dir == Outbound && cfg.Mode == Tunnel && sa.outer == header.IPv4MinLen
	return sa, nil
}

// Index is the SA's place in its Table: what a packet's SA dynfield holds.
func (sa *SA) Index() uint16 { return sa.index }

// SPI is the SA's security parameter index.
func (sa *SA) SPI() uint32 { return sa.cfg.SPI }

// Dir is the SA's direction.
func (sa *SA) Dir() Direction { return sa.cfg.Dir }

// Mode is the SA's mode.
func (sa *SA) Mode() Mode { return sa.cfg.Mode }

// Alg is the SA's algorithm.
func (sa *SA) Alg() Algorithm { return sa.cfg.Alg }

// ESN reports whether the SA uses extended sequence numbers.
func (sa *SA) ESN() bool { return sa.cfg.ESN }

// Config returns the SA's configuration (its keys are Keys: they print
// redacted).
func (sa *SA) Config() Config { return sa.cfg }

// Seq is, for an outbound SA, the last sequence number sent; for an
// inbound one, the highest authenticated sequence number received. Any
// goroutine may read it.
func (sa *SA) Seq() uint64 {
	if sa.cfg.Dir == Outbound {
		return sa.seq.Load()
	}
	return sa.replay.top.Load()
}

// Headroom is the most bytes PrepareEncrypt adds in front of a packet:
// the outer IP header (tunnel mode), the ESP header and the IV.
func (sa *SA) Headroom() int { return sa.outer + HeaderLen + sa.cfg.Alg.IVLen() }

// Tailroom is the most bytes PrepareEncrypt needs after a packet: padding,
// pad length, next header and ICV, plus, for CBC with ESN, 4 bytes an
// engine may use to authenticate the high sequence bits in place (see
// Job).
func (sa *SA) Tailroom() int {
	n := sa.cfg.Alg.Align() - 1 + TrailerLen + ICVLen
	if sa.cfg.ESN && !sa.cfg.Alg.AEAD() {
		n += esnHiLen
	}
	return n
}

// String describes the SA without its keys: index, SPI, direction, mode,
// algorithm, options and endpoints.
func (sa *SA) String() string {
	var b strings.Builder
	fmt.Fprintf(&b, "sa %d spi 0x%08x %v %v %v", sa.index, sa.cfg.SPI, sa.cfg.Dir, sa.cfg.Mode, sa.cfg.Alg)
	if sa.cfg.ESN {
		b.WriteString(" esn")
	}
	if sa.cfg.Dir == Inbound {
		fmt.Fprintf(&b, " window %d", sa.window)
	}
	if sa.cfg.Src.IsValid() || sa.cfg.Dst.IsValid() {
		fmt.Fprintf(&b, " %v->%v", sa.cfg.Src, sa.cfg.Dst)
	}
	if sa.cfg.Name != "" {
		fmt.Fprintf(&b, " name %q", sa.cfg.Name)
	}
	return b.String()
}

// Format implements fmt.Formatter: every verb prints String.
func (sa *SA) Format(f fmt.State, _ rune) { _, _ = io.WriteString(f, sa.String()) }

// Info is what show output says of an SA.
type Info struct {
	Index uint16 `json:"index"`
	Config
	// Seq is SA.Seq.
	Seq uint64 `json:"seq"`
}

// Info returns the SA's description for show output.
func (sa *SA) Info() Info { return Info{Index: sa.index, Config: sa.cfg, Seq: sa.Seq()} }

// MarshalJSON implements json.Marshaler with Info (keys redacted).
func (sa *SA) MarshalJSON() ([]byte, error) { return json.Marshal(sa.Info()) }
