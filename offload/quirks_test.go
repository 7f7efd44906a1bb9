package offload

import "testing"

// TestQuirksSpoils decodes requests for a net_tap egress and checks what
// its quirks take back from the device, and that decoding again without
// it moves exactly those tasks to software.
func TestQuirksSpoils(t *testing.T) {
	const mtu = 1500
	tapHW := TxIPv4Cksum | TxTCPCksum | TxUDPCksum | TxTCPTSO
	allowed := tapHW | TxTCPTSO6 | TxUDPTSO | TxUDPTSO6
	tso4 := OlTxIPv4 | OlTxIPCksum | OlTxTCPCksum | OlTxTCPSeg
	tso6 := OlTxIPv6 | OlTxTCPCksum | OlTxTCPSeg
	cases := []struct {
		name     string
		v6, udp  bool
		payload  int
		flags    uint64
		segsz    uint16
		oddPiece bool
		back     TxCaps
		software []Task // done in software after decoding again (the device checksums software's one-piece segments)
	}{
		{"tso4 frame fits", false, false, 8000, tso4, 1442, false, 0, nil},
		// 14+20+24 (TCP with MSS option) + 1443 = 1501.
		{"tso4 frame over mtu", false, false, 8000, tso4, 1443, false, segCaps, []Task{TaskTSO}},
		{"tso4 odd chain", false, false, 8000, tso4, 1442, true, segCaps, []Task{TaskTSO}},
		// Software cuts TSO6 into one-piece segments: nothing to take.
		{"tso6 odd chain", true, false, 8000, tso6, 1400, true, 0, []Task{TaskTSO}},
		{"tcp csum odd chain", false, false, 1400, OlTxIPv4 | OlTxIPCksum | OlTxTCPCksum, 0, true, l4CksumCaps, []Task{TaskL4Cksum}},
		{"tcp csum even chain", false, false, 1400, OlTxIPv4 | OlTxIPCksum | OlTxTCPCksum, 0, false, 0, nil},
		{"udp csum odd chain", false, true, 1400, OlTxIPv4 | OlTxUDPCksum, 0, true, l4CksumCaps, []Task{TaskL4Cksum}},
	}
	q := DriverQuirks("net_tap")
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			frame := pkt(t, c.v6, c.udp, c.payload, true)
			r := req(t, frame, c.flags, c.segsz)
			var b Batch
			Decode(&r, frame, len(frame), mtu, allowed, tapHW, &b)
			if why, _ := b.Refused(); why != RefusalNone {
				t.Fatalf("refused: %v", why)
			}
			back := q.Spoils(&b, int(c.segsz), mtu, c.oddPiece)
			if back != c.back {
				t.Fatalf("Spoils = [%v], want [%v]", back, c.back)
			}
			if tapHW&back != 0 {
				Decode(&r, frame, len(frame), mtu, allowed, tapHW&^back, &b)
			}
			var sw []Task
			for _, st := range b.Tasks() {
				if st.Verdict == Software {
					sw = append(sw, st.Task)
				}
			}
			if len(sw) != len(c.software) {
				t.Fatalf("software does %v, want %v", sw, c.software)
			}
			for i := range sw {
				if sw[i] != c.software[i] {
					t.Fatalf("software does %v, want %v", sw, c.software)
				}
			}
		})
	}
	if DriverQuirks("net_ring") != 0 {
		t.Error("net_ring has quirks")
	}
}
