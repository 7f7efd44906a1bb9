package esp

// Reason says why a packet was not encapsulated or decapsulated; OK means
// it was. Each is a drop counter of the data path.
type Reason uint8

// Reasons.
const (
	OK Reason = iota

	// Either direction.

	// NoSA: no SA at the packet's SA index (TX), or nil.
	NoSA
	// WrongDirection: an inbound SA asked to encrypt, or the reverse.
	WrongDirection
	// NotIP: the frame's L3 is neither IPv4 nor IPv6.
	NotIP
	// Malformed: the IP header is short or its lengths disagree with the
	// frame.
	Malformed
	// Fragment: an IP fragment where a whole datagram is needed:
	// transport-mode encryption (RFC 4303 §3.3), or an ESP packet to
	// decrypt (reassemble it first, RFC 4303 §3.4.1).
	Fragment
	// FamilyMismatch: a transport-mode SA of one IP version given a
	// packet of the other.
	FamilyMismatch
	// Unprocessed: Finish on a job no engine processed.
	Unprocessed
	// EngineError: the crypto engine failed the job (not an ICV check).
	EngineError

	// Encapsulation.

	// SeqOverflow: the sequence number would wrap: 2^32-1 packets sent
	// without ESN, 2^64-1 with (RFC 4303 §3.3.3). The SA must be
	// replaced.
	SeqOverflow
	// ExtHeaders: transport-mode encryption of an IPv6 packet with
	// extension headers, which this engine does not place ESP among.
	ExtHeaders
	// NoHeadroom: the buffer has too little room in front of the frame
	// (SA.Headroom).
	NoHeadroom
	// NoTailroom: the buffer has too little room after the frame
	// (SA.Tailroom).
	NoTailroom
	// TooBig: the ESP packet would exceed IP's 65535-byte length.
	TooBig

	// Decapsulation, in the order they are checked.

	// NotESP: the IP payload is not ESP.
	NotESP
	// Truncated: the ESP packet is shorter than header, IV, trailer and
	// ICV.
	Truncated
	// BadLength: the encrypted part is not a multiple of the cipher's
	// block (CBC) or of 4 bytes (RFC 4303 §2.4).
	BadLength
	// UnknownSPI: no inbound SA has the packet's SPI (and destination).
	UnknownSPI
	// ReplayDuplicate: the sequence number was received before.
	ReplayDuplicate
	// ReplayOld: the sequence number is left of the replay window (or 0).
	ReplayOld
	// BadICV: the integrity check failed: the packet was forged, damaged,
	// or its sequence number's inferred high bits are wrong.
	BadICV
	// BadPadLength: the pad length runs past the decrypted payload.
	BadPadLength
	// BadPadding: the padding bytes are not 1, 2, 3, ... (RFC 4303 §2.4).
	BadPadding
	// Dummy: next header 59, a dummy packet (RFC 4303 §2.6), discarded.
	Dummy
	// BadNextHeader: in tunnel mode, a next header other than IPv4 or
	// IPv6.
	BadNextHeader
	// BadInner: the decrypted inner packet's IP header disagrees with its
	// length or with the next header.
	BadInner

	numReasons
)

var reasonNames = [numReasons]string{
	OK:              "ok",
	NoSA:            "esp-no-sa",
	WrongDirection:  "esp-wrong-direction",
	NotIP:           "esp-not-ip",
	Malformed:       "esp-malformed",
	Fragment:        "esp-fragment",
	FamilyMismatch:  "esp-family-mismatch",
	Unprocessed:     "esp-unprocessed",
	EngineError:     "esp-engine-error",
	SeqOverflow:     "esp-seq-overflow",
	ExtHeaders:      "esp-ipv6-ext-headers",
	NoHeadroom:      "esp-no-headroom",
	NoTailroom:      "esp-no-tailroom",
	TooBig:          "esp-too-big",
	NotESP:          "esp-not-esp",
	Truncated:       "esp-truncated",
	BadLength:       "esp-bad-length",
	UnknownSPI:      "esp-unknown-spi",
	ReplayDuplicate: "esp-replay-duplicate",
	ReplayOld:       "esp-replay-old",
	BadICV:          "esp-bad-icv",
	BadPadLength:    "esp-bad-pad-length",
	BadPadding:      "esp-bad-padding",
	Dummy:           "esp-dummy",
	BadNextHeader:   "esp-bad-next-header",
	BadInner:        "esp-bad-inner",
}

func (r Reason) String() string {
	if r < numReasons {
		return reasonNames[r]
	}
	return "esp-unknown"
}

// Reasons lists every reason (OK excluded), for counter tables.
func Reasons() []Reason {
	rs := make([]Reason, 0, numReasons-1)
	for r := OK + 1; r < numReasons; r++ {
		rs = append(rs, r)
	}
	return rs
}
