package header

// TCP is a TCP header (RFC 9293), options included.
type TCP []byte

// TCP layout and flags.
const (
	TCPMinLen      = 20
	TCPMaxLen      = 60
	tcpSrcPort     = 0
	tcpDstPort     = 2
	tcpSeq         = 4
	tcpAck         = 8
	tcpDataOff     = 12
	tcpFlags       = 13
	tcpWindow      = 14
	TCPChecksumOff = 16
	tcpUrgent      = 18

	TCPFlagFIN = 0x01
	TCPFlagSYN = 0x02
	TCPFlagRST = 0x04
	TCPFlagPSH = 0x08
	TCPFlagACK = 0x10
	TCPFlagURG = 0x20
	TCPFlagECE = 0x40
	TCPFlagCWR = 0x80
)

// IsValid reports whether b holds a whole TCP header with a data offset of
// at least 5 words.
func (b TCP) IsValid() bool {
	if len(b) < TCPMinLen {
		return false
	}
	hl := b.HeaderLen()
	return hl >= TCPMinLen && len(b) >= hl
}

// SrcPort is the source port.
func (b TCP) SrcPort() uint16 { return be.Uint16(b[tcpSrcPort:]) }

// DstPort is the destination port.
func (b TCP) DstPort() uint16 { return be.Uint16(b[tcpDstPort:]) }

// Seq is the sequence number.
func (b TCP) Seq() uint32 { return be.Uint32(b[tcpSeq:]) }

// Ack is the acknowledgment number.
func (b TCP) Ack() uint32 { return be.Uint32(b[tcpAck:]) }

// HeaderLen is the data offset in bytes.
func (b TCP) HeaderLen() int { return int(b[tcpDataOff]>>4) * 4 }

// Flags are the flag bits (TCPFlag*).
func (b TCP) Flags() uint8 { return b[tcpFlags] }

// Window is the window field.
func (b TCP) Window() uint16 { return be.Uint16(b[tcpWindow:]) }

// Checksum is the checksum field.
func (b TCP) Checksum() uint16 { return be.Uint16(b[TCPChecksumOff:]) }

// Urgent is the urgent pointer.
func (b TCP) Urgent() uint16 { return be.Uint16(b[tcpUrgent:]) }

// Options are the bytes after the fixed header.
func (b TCP) Options() []byte { return b[TCPMinLen:b.HeaderLen()] }

// SetSeq sets the sequence number.
func (b TCP) SetSeq(v uint32) { be.PutUint32(b[tcpSeq:], v) }

// SetFlags sets the flag bits.
func (b TCP) SetFlags(v uint8) { b[tcpFlags] = v }

// SetChecksum sets the checksum field.
func (b TCP) SetChecksum(v uint16) { be.PutUint16(b[TCPChecksumOff:], v) }

// SetUrgent sets the urgent pointer.
func (b TCP) SetUrgent(v uint16) { be.PutUint16(b[tcpUrgent:], v) }

// TCPFields are what Encode writes.
type TCPFields struct {
	SrcPort, DstPort uint16
	Seq, Ack         uint32
	Flags            uint8
	Window           uint16
	Urgent           uint16
	Options          []byte // a multiple of 4 bytes, at most 40
}

// Encode writes a header from f (checksum zero) into b.
func (b TCP) Encode(f *TCPFields) {
	hl := TCPMinLen + len(f.Options)
	be.PutUint16(b[tcpSrcPort:], f.SrcPort)
	be.PutUint16(b[tcpDstPort:], f.DstPort)
	be.PutUint32(b[tcpSeq:], f.Seq)
	be.PutUint32(b[tcpAck:], f.Ack)
	b[tcpDataOff] = uint8(hl/4) << 4
	b[tcpFlags] = f.Flags
	be.PutUint16(b[tcpWindow:], f.Window)
	be.PutUint16(b[TCPChecksumOff:], 0)
	be.PutUint16(b[tcpUrgent:], f.Urgent)
	copy(b[TCPMinLen:hl], f.Options)
}

// UDP is a UDP header (RFC 768).
type UDP []byte

// UDP layout.
const (
	UDPLen         = 8
	udpSrcPort     = 0
	udpDstPort     = 2
	udpLength      = 4
	UDPChecksumOff = 6
)

// IsValid reports whether b holds a whole header.
func (b UDP) IsValid() bool { return len(b) >= UDPLen }

// SrcPort is the source port.
func (b UDP) SrcPort() uint16 { return be.Uint16(b[udpSrcPort:]) }

// DstPort is the destination port.
func (b UDP) DstPort() uint16 { return be.Uint16(b[udpDstPort:]) }

// Length is the datagram length, header included.
func (b UDP) Length() uint16 { return be.Uint16(b[udpLength:]) }

// Checksum is the checksum field.
func (b UDP) Checksum() uint16 { return be.Uint16(b[UDPChecksumOff:]) }

// SetLength sets the length field.
func (b UDP) SetLength(v uint16) { be.PutUint16(b[udpLength:], v) }

// SetChecksum sets the checksum field.
func (b UDP) SetChecksum(v uint16) { be.PutUint16(b[UDPChecksumOff:], v) }

// Encode writes a header (checksum zero).
func (b UDP) Encode(src, dst, length uint16) {
	be.PutUint16(b[udpSrcPort:], src)
	be.PutUint16(b[udpDstPort:], dst)
	be.PutUint16(b[udpLength:], length)
	be.PutUint16(b[UDPChecksumOff:], 0)
}
