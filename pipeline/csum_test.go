package pipeline

import (
	"testing"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"

	"github.com/offloadpmd/offloadpmd/offload"
)

// TestCsumEngineRefusesDisabledChecksum: the csum engine asks for every
// checksum, the TX port enables only IPv4 and UDP checksums: TCP packets
// are refused and counted under the disabled reason, UDP ones leave with
// both checksums, spoiled on input, right (gopacket recomputes them), none is lost uncounted.
func TestCsumEngineRefusesDisabledChecksum(t *testing.T) {
	tr := newTraffic(t, []e2eFlow{{id: 400, mss: 1448}, {id: 401, udp: true, mss: 1448}, {id: 402, udp: true, v6: true, mss: 1448}, {id: 403, v6: true, tsopt: true, mss: 1448}},
		[]int{100, 700, 1400}, false)
	frames := tr.frames()
	var udp int
	for i, p := range tr.pkts {
		p.flow.spoil(frames[i]) // only the checksum tasks can fix them
		if p.flow.udp {
			udp++
		}
	}
	out, st := pcapOffloadRunWith(t, "csum_refuse", frames, udp, CsumSettings{}, offload.TxIPv4Cksum|offload.TxUDPCksum)
	got := readPcap(t, out)
	if len(got) != udp {
		t.Fatalf("%d packets out, want the %d UDP ones", len(got), udp)
	}
	for i, fr := range got {
		p := gopacket.NewPacket(fr, layers.LayerTypeEthernet, gopacket.Default)
		u, _ := p.Layer(layers.LayerTypeUDP).(*layers.UDP)
		if u == nil {
			t.Fatalf("output %d is not UDP: %v", i, p)
		}
		want := u.Checksum
		var nl gopacket.NetworkLayer
		if ip4, ok := p.Layer(layers.LayerTypeIPv4).(*layers.IPv4); ok {
			nl = ip4
			c := ip4.Checksum
			if err := ip4.SerializeTo(gopacket.NewSerializeBuffer(), gopacket.SerializeOptions{ComputeChecksums: true}); err != nil || ip4.Checksum != c {
				t.Errorf("output %d: IPv4 checksum %#04x, want %#04x", i, c, ip4.Checksum)
			}
		} else {
			nl = p.Layer(layers.LayerTypeIPv6).(*layers.IPv6)
		}
		if err := u.SetNetworkLayerForChecksum(nl); err != nil {
			t.Fatal(err)
		}
		buf := gopacket.NewSerializeBuffer()
		if err := gopacket.SerializeLayers(buf, gopacket.SerializeOptions{ComputeChecksums: true}, u, gopacket.Payload(u.Payload)); err != nil {
			t.Fatal(err)
		}
		if u.Checksum != want {
			t.Errorf("output %d: UDP checksum %#04x, want %#04x", i, want, u.Checksum)
		}
	}
	// The pcap is read once: every TCP packet was refused.
	if n := st.Counters[Refused(offload.RefDisabled)]; n != uint64(len(frames)-udp) {
		t.Errorf("refused as disabled: %d, want %d; %s", n, len(frames)-udp, st.nonZero())
	}
	if n := st.Counters[SoftwareTask(offload.TaskL4Cksum)]; n != uint64(udp) {
		t.Errorf("software L4 checksums: %d, want %d; %s", n, udp, st.nonZero())
	}
}
