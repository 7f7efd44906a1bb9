package pipeline

import (
	"bytes"
	"errors"
	"io"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"
	"github.com/gopacket/gopacket/pcapgo"

	"github.com/offloadpmd/offloadpmd/config"
	"github.com/offloadpmd/offloadpmd/pmd"
	"github.com/offloadpmd/offloadpmd/pmd/pmdtest"
)

func writePcap(t *testing.T, name string, frames [][]byte) {
	t.Helper()
	f, err := os.Create(name)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	w := pcapgo.NewWriter(f)
	if err := w.WriteFileHeader(65535, layers.LinkTypeEthernet); err != nil {
		t.Fatal(err)
	}
	for i, fr := range frames {
		ci := gopacket.CaptureInfo{Timestamp: time.Unix(1700000000, int64(i)*1000), CaptureLength: len(fr), Length: len(fr)}
		if err := w.WritePacket(ci, fr); err != nil {
			t.Fatal(err)
		}
	}
}

// readPcap decodes a pcap with gopacket and returns its packets' bytes.
func readPcap(t *testing.T, name string) [][]byte {
	t.Helper()
	f, err := os.Open(name)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	r, err := pcapgo.NewReader(f)
	if err != nil {
		t.Fatal(err)
	}
	var out [][]byte
	for {
		data, _, err := r.ReadPacketData()
		if errors.Is(err, io.EOF) {
			return out
		}
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, data)
	}
}

// pcapRun replays in through engine e on a net_pcap port looped to itself
// and returns what the port wrote.
func pcapRun(t *testing.T, e *Engine, frames [][]byte) [][]byte {
	t.Helper()
	pool := pmdtest.Pool(t, 4096, 0)
	dir := t.TempDir()
	in, out := filepath.Join(dir, "in.pcap"), filepath.Join(dir, "out.pcap")
	writePcap(t, in, frames)
	p, err := pmd.ProbeVdev("net_pcap_" + e.Name + ",rx_pcap=" + in + ",tx_pcap=" + out)
	if err != nil {
		t.Fatal(err)
	}
	if err := p.Configure(pmd.PortConfig{RxQueues: 1, TxQueues: 1, Pool: pool}); err != nil {
		t.Fatal(err)
	}
	if err := p.Start(); err != nil {
		t.Fatal(err)
	}
	stop := forward(t, []*pmd.EthPort{p}, config.TopologyLoop, e, pool)
	ok := waitFor(10*time.Second, func() bool {
		st, err := p.Stats()
		return err == nil && st.OPackets >= uint64(len(frames))
	})
	stop()
	// Closing the port flushes and closes the output pcap.
	if err := p.Close(); err != nil {
		t.Fatal(err)
	}
	if !ok {
		t.Fatalf("the port did not send %d packets in time", len(frames))
	}
	return readPcap(t, out)
}

// TestPcapReplayIO: what a net_pcap port reads from a pcap comes out of
// it unchanged, every packet in order, as gopacket reads both files.
func TestPcapReplayIO(t *testing.T) {
	var frames [][]byte
	for i := range 2000 {
		frames = append(frames, udpFrame(t, i, 60+(i*37)%1455))
	}
	got := pcapRun(t, &IOEngine, frames)
	if len(got) != len(frames) {
		t.Fatalf("output has %d packets, input %d", len(got), len(frames))
	}
	for i := range frames {
		if !bytes.Equal(got[i], frames[i]) {
			t.Fatalf("packet %d differs", i)
		}
		p := gopacket.NewPacket(got[i], layers.LayerTypeEthernet, gopacket.Default)
		if p.ErrorLayer() != nil || p.Layer(layers.LayerTypeUDP) == nil {
			t.Fatalf("packet %d does not decode as UDP: %v", i, p.ErrorLayer())
		}
	}
}

// TestPcapMacSwap: macswap swaps the Ethernet addresses and nothing else.
func TestPcapMacSwap(t *testing.T) {
	var frames [][]byte
	for i := range 300 {
		frames = append(frames, udpFrame(t, i, 64))
	}
	got := pcapRun(t, &MACSwapEngine, frames)
	if len(got) != len(frames) {
		t.Fatalf("output has %d packets, input %d", len(got), len(frames))
	}
	for i, f := range frames {
		want := append([]byte(nil), f...)
		copy(want[0:6], f[6:12])
		copy(want[6:12], f[0:6])
		if !bytes.Equal(got[i], want) {
			t.Fatalf("packet %d: got % x\nwant % x", i, got[i][:14], want[:14])
		}
	}
}
