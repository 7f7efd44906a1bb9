package esp

import (
	"bytes"
	"testing"

	"github.com/offloadpmd/offloadpmd/offload/checksum"
	"github.com/offloadpmd/offloadpmd/offload/header"
)

// TestWriteOuterMatchesEncode checks the tunnel's outer header, written
// from the SA's template with an incremental checksum, against the header
// package's Encode and a full checksum of the result: both families, every
// DF policy, TTLs, traffic classes, lengths and IDs (sequence numbers).
func TestWriteOuterMatchesEncode(t *testing.T) {
	tos := []uint8{0, 1, 0x2e << 2, 0xb8, 0xfc, 0xff}
	lens := []int{header.IPv6Len + 24, 76, 1000, 1568, 0xffff}
	seqs := []uint64{1, 2, 0xfffe, 0xffff, 0x10000, 0x1_2345_6789}
	for _, outer6 := range []bool{false, true} {
		for df := DFCopy; df <= DFClear; df++ {
			for _, ttl := range []uint8{0, 1, 64, 255} {
				c, _ := pairConfig(AESGCM128, Tunnel, outer6, false)
				c.DF, c.TTL = df, ttl
				var r Registry
				sa, err := r.Add(c)
				if err != nil {
					t.Fatal(err)
				}
				wantTTL := ttl
				if wantTTL == 0 {
					wantTTL = DefaultTTL
				}
				for _, tc := range tos {
					for _, innerDF := range []bool{false, true} {
						for _, n := range lens {
							for _, seq := range seqs {
								ip := ipPacket{tos: tc, df: innerDF, v6: outer6}
								got := make([]byte, sa.outer)
								for i := range got {
									got[i] = 0xa5 // whatever the buffer held
								}
								sa.writeOuter(got, &ip, seq, n)
								want := make([]byte, sa.outer)
								if outer6 {
									header.IPv6(want).Encode(&header.IPv6Fields{TrafficClass: tc, PayloadLen: uint16(n - header.IPv6Len),
										NextHeader: header.ProtoESP, HopLimit: wantTTL, Src: c.Src, Dst: c.Dst})
								} else {
									var flags uint16
									if df == DFSet || df == DFCopy && innerDF {
										flags = header.IPv4FlagDF
									}
									header.IPv4(want).Encode(&header.IPv4Fields{TOS: tc, TotalLen: uint16(n), ID: uint16(seq), Flags: flags,
										TTL: wantTTL, Protocol: header.ProtoESP, Src: c.Src, Dst: c.Dst})
									checksum.SetIPv4(header.IPv4(want))
								}
								if !bytes.Equal(got, want) {
									t.Fatalf("outer6 %v df %v ttl %d tos %#x inner DF %v len %d seq %#x:\n got % x\nwant % x",
										outer6, df, ttl, tc, innerDF, n, seq, got, want)
								}
							}
						}
					}
				}
			}
		}
	}
}
