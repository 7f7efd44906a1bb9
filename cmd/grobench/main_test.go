package main

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"
	"github.com/gopacket/gopacket/pcapgo"

	"github.com/offloadpmd/offloadpmd/offload/header"
	"github.com/offloadpmd/offloadpmd/pmd"
	"github.com/offloadpmd/offloadpmd/pmd/pmdtest"
)

func TestMain(m *testing.M) { pmdtest.Main(m, "grobench") }

// GRO traffic as cmd/pcapgen -kind gro writes it: per flow, in-order
// 1448-byte TCP segments with the timestamp option (1514-byte frames), IPv4
// ID +1 per segment with DF, in runs of run segments per flow.
const (
	segPayload = 1448
	frameLen   = 14 + 20 + 32 + segPayload
)

// spoil says what to break in segment s of flow f: the TCP checksum, the
// IPv4 header checksum.
type spoil func(f, s int) (tcp, ip bool)

func groFrames(t *testing.T, flows, segs, run int, bad spoil) [][]byte {
	t.Helper()
	var frames [][]byte
	for s0 := 0; s0 < segs; s0 += run {
		for f := 0; f < flows; f++ {
			for s := s0; s < min(s0+run, segs); s++ {
				frames = append(frames, groSegment(t, f, s, bad))
			}
		}
	}
	return frames
}

func groSegment(t *testing.T, f, s int, bad spoil) []byte {
	t.Helper()
	eth := &layers.Ethernet{
		SrcMAC: net.HardwareAddr{2, 0, 0, 0, 0xa, 1}, DstMAC: net.HardwareAddr{2, 0, 0, 0, 0xb, 1},
		EthernetType: layers.EthernetTypeIPv4,
	}
	ip := &layers.IPv4{Version: 4, TTL: 64, Id: uint16(s), Flags: layers.IPv4DontFragment, Protocol: layers.IPProtocolTCP,
		SrcIP: net.IPv4(10, 0, byte(f>>8), byte(f)).To4(), DstIP: net.IPv4(10, 1, 0, 1).To4()}
	ts := make([]byte, 8)
	binary.BigEndian.PutUint32(ts, uint32(0x1000+f))
	binary.BigEndian.PutUint32(ts[4:], 0x2000)
	tcp := &layers.TCP{SrcPort: layers.TCPPort(1024 + f), DstPort: 5201, Seq: uint32(1 + s*segPayload), ACK: true, Ack: 1, Window: 1024,
		Options: []layers.TCPOption{{OptionType: layers.TCPOptionKindNop}, {OptionType: layers.TCPOptionKindNop},
			{OptionType: layers.TCPOptionKindTimestamps, OptionLength: 10, OptionData: ts}}}
	if err := tcp.SetNetworkLayerForChecksum(ip); err != nil {
		t.Fatal(err)
	}
	payload := make([]byte, segPayload)
	for j := range payload {
		payload[j] = byte(f*7 + s*13 + j)
	}
	buf := gopacket.NewSerializeBuffer()
	opts := gopacket.SerializeOptions{FixLengths: true, ComputeChecksums: true}
	if err := gopacket.SerializeLayers(buf, opts, eth, ip, tcp, gopacket.Payload(payload)); err != nil {
		t.Fatal(err)
	}
	b := buf.Bytes()
	if len(b) != frameLen {
		t.Fatalf("frame of %d bytes, want %d", len(b), frameLen)
	}
	if bad != nil {
		badTCP, badIP := bad(f, s)
		if badTCP {
			b[14+20+16] ^= 0x55 // TCP checksum
		}
		if badIP {
			b[14+10] ^= 0x55 // IPv4 header checksum
		}
	}
	return b
}

func writePcap(t *testing.T, frames [][]byte) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "gro.pcap")
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	w := pcapgo.NewWriter(f)
	if err := w.WriteFileHeader(65535, layers.LinkTypeEthernet); err != nil {
		t.Fatal(err)
	}
	for _, b := range frames {
		if err := w.WritePacket(gopacket.CaptureInfo{CaptureLength: len(b), Length: len(b)}, b); err != nil {
			t.Fatal(err)
		}
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
	return path
}

var poolSeq int

// runBursts loads the pcap as grobench does and runs exactly bursts bursts
// on the EAL main lcore's thread; it checks that every mbuf came back.
func runBursts(t *testing.T, m mode, path string, burst int, bursts uint64) result {
	t.Helper()
	eal := pmdtest.Need(t)
	frames, maxLen, err := loadPcap(path)
	if err != nil {
		t.Fatal(err)
	}
	poolSeq++
	pool, err := newPool(fmt.Sprintf("grobench_t%d", poolSeq), maxLen)
	if err != nil {
		t.Fatal(err)
	}
	defer func() {
		if n := pool.InUse(); n != 0 {
			t.Errorf("%d mbufs still in use after the run (leak)", n)
			return
		}
		pool.Free()
	}()
	b, err := newBench(m, frames, burst, pool)
	if err != nil {
		t.Fatal(err)
	}
	var res result
	var lcore uint
	eal.Do(func() {
		lcore = pmd.LcoreID()
		res, err = b.run(0, bursts)
	})
	if n := pool.InUse(); n != 0 {
		t.Errorf("%d mbufs in use after the final flush, before the stream closed", n)
	}
	b.close()
	if err != nil {
		t.Fatal(err)
	}
	if lcore != eal.MainLcore() {
		t.Errorf("loop ran on lcore %d, want the main lcore %d", lcore, eal.MainLcore())
	}
	if res.bursts != bursts || res.inPkts != bursts*uint64(burst) {
		t.Fatalf("%d bursts, %d packets in; want %d and %d", res.bursts, res.inPkts, bursts, bursts*uint64(burst))
	}
	t.Logf("%s", res.line(m, filepath.Base(path), len(frames), burst))
	return res
}

// TestGRORuns: 8 flows of 64 segments in runs of 32, bursts of 32, so that
// each burst is one run of one flow: every burst leaves as one 32-segment
// packet in both GRO modes, nothing is bad, nothing leaks, and the loop
// allocates nothing on the Go heap.
func TestGRORuns(t *testing.T) {
	path := writePcap(t, groFrames(t, 8, 64, 32, nil))
	const bursts = 3 * 16 // the pcap's 512 frames three times over
	for _, m := range []mode{modeGRO, modeGROCsum} {
		t.Run(m.String(), func(t *testing.T) {
			r := runBursts(t, m, path, 32, bursts)
			if r.outPkts != bursts {
				t.Errorf("%d packets out of %d in, want %d (merge ratio %.2f, want 32)", r.outPkts, r.inPkts, bursts, float64(r.inPkts)/float64(r.outPkts))
			}
			if want := uint64(bursts * (frameLen + 31*segPayload)); r.outBytes != want {
				t.Errorf("%d bytes out, want %d (32 payloads under one set of headers per burst)", r.outBytes, want)
			}
			if r.bad != 0 {
				t.Errorf("bad_csum %d on good input", r.bad)
			}
			if r.stats.Merged != bursts*31 || r.stats.Held != bursts || r.stats.Out != bursts {
				t.Errorf("GRO stats: held %d merged %d out %d, want %d, %d, %d", r.stats.Held, r.stats.Merged, r.stats.Out, bursts, bursts*31, bursts)
			}
			// The count is the process's: the runtime may allocate once
			// on its own; the loop allocating would show per burst.
			if r.mallocs >= bursts/4 {
				t.Errorf("%d Go heap allocations in %d bursts of the loop, want none", r.mallocs, bursts)
			}
		})
	}
}

// TestBadChecksums: spoiled checksums are counted in grocsum (every one,
// every time it is replayed) and keep those segments from merging; gro
// does not verify, so it counts none.
func TestBadChecksums(t *testing.T) {
	// Per flow: TCP checksums of segments 3, 11, 19, ... and the IPv4
	// checksum of segment 40 (and both of segment 59).
	bad := func(f, s int) (tcp, ip bool) { return s%8 == 3, s == 40 || s == 59 }
	const flows = 8
	perPass := 0
	for s := range 64 {
		if tcp, ip := bad(0, s); tcp || ip {
			perPass += flows
		}
	}
	path := writePcap(t, groFrames(t, flows, 64, 32, bad))
	const bursts = 2 * 16
	r := runBursts(t, modeGROCsum, path, 32, bursts)
	if want := uint64(2 * perPass); r.bad != want {
		t.Errorf("grocsum: bad_csum %d, want %d", r.bad, want)
	}
	if r.outPkts <= bursts || r.inPkts/r.outPkts >= 32 {
		t.Errorf("grocsum: %d out of %d in: spoiled segments were merged", r.outPkts, r.inPkts)
	}
	r = runBursts(t, modeGRO, path, 32, bursts)
	if r.bad != 0 {
		t.Errorf("gro: bad_csum %d, want 0 (gro does not verify)", r.bad)
	}
}

// TestCopy: copy mode frees what it allocated and sends every frame out
// as it came.
func TestCopy(t *testing.T) {
	path := writePcap(t, groFrames(t, 2, 4, 1, nil))
	r := runBursts(t, modeCopy, path, 5, 100) // 8 frames, bursts of 5: wraps mid-burst
	if r.outPkts != r.inPkts || r.outBytes != r.inBytes || r.inBytes != 500*frameLen {
		t.Errorf("copy: in %d pkts %d bytes, out %d pkts %d bytes", r.inPkts, r.inBytes, r.outPkts, r.outBytes)
	}
}

// TestOutputLine: the line is gro_bench's key=value line with go_mallocs
// at the end, its values computed from a made-up result (nothing here is
// measured), and every key scripts/bench-offload.sh reads off it is there.
func TestOutputLine(t *testing.T) {
	r := result{inPkts: 32e6, inBytes: 32e6 * frameLen, outPkts: 1e6, outBytes: 1e6 * 46402, bad: 3, secs: 2, mallocs: 0}
	var keys, vals []string
	for _, f := range strings.Fields(r.line(modeGROCsum, "x.pcap", 4096, 32)) {
		k, v, ok := strings.Cut(f, "=")
		if !ok {
			t.Fatalf("field %q is not key=value", f)
		}
		keys, vals = append(keys, k), append(vals, v)
	}
	want := []string{"grocsum", "x.pcap", "4096", "32", "2.00", "16.000", "193.792", "0.500", "185.608", "32.00", "3", "0"}
	if !slices.Equal(vals, want) {
		t.Errorf("values %q, want %q", vals, want)
	}
	if gro := []string{"mode", "pcap", "frames", "burst", "secs"}; len(keys) < len(gro) || !slices.Equal(keys[:len(gro)], gro) ||
		keys[len(keys)-1] != "go_mallocs" {
		t.Errorf("keys %q: want gro_bench's %q first and go_mallocs last", keys, gro)
	}
	script, err := os.ReadFile("../../scripts/bench-offload.sh")
	if err != nil {
		t.Fatal(err)
	}
	read := regexp.MustCompile(`([a-z_A-Z]+)=\\\(`).FindAllSubmatch(script, -1)
	if len(read) == 0 {
		t.Fatal("scripts/bench-offload.sh reads no key=value off the harness line")
	}
	for _, k := range read {
		if !slices.Contains(keys, string(k[1])) {
			t.Errorf("scripts/bench-offload.sh reads %s=, which the line does not have", k[1])
		}
	}
}

func TestArgs(t *testing.T) {
	good := writePcap(t, groFrames(t, 1, 2, 1, nil))
	for _, c := range []struct {
		argv string
		err  string // substring; "" for success
	}{
		{"-l 1 -- gro " + good + " 5", ""},
		{"-l 1 -- grocsum " + good + " 0.5 64 0", ""},
		{"-l 1 gro " + good + " 5", `missing "--"`},
		{"-- groctx " + good + " 5", `bad mode "groctx"`},
		{"-- gro " + good, "want MODE PCAP SECONDS"},
		{"-- gro " + good + " 0", "SECONDS"},
		{"-- gro " + good + " 5 0", "BURST"},
		{"-- gro " + good + " 5 513", "BURST"},
		{"-- gro " + good + " 5 32 4", "only 0"},
	} {
		_, _, err := splitArgs(strings.Fields(c.argv))
		switch {
		case c.err == "" && err != nil:
			t.Errorf("%q: %v", c.argv, err)
		case c.err != "" && (err == nil || !strings.Contains(err.Error(), c.err)):
			t.Errorf("%q: error %v, want one containing %q", c.argv, err, c.err)
		}
	}
	if _, _, err := loadPcap(filepath.Join(t.TempDir(), "missing.pcap")); err == nil {
		t.Error("loadPcap of a missing file succeeded")
	}
	frames, maxLen, err := loadPcap(good)
	if err != nil || len(frames) != 2 || maxLen != frameLen || !bytes.Equal(frames[1], groSegment(t, 0, 1, nil)) {
		t.Errorf("loadPcap: %d frames, max %d, %v", len(frames), maxLen, err)
	}
	if _, err := dataRoom(0xffff); err == nil {
		t.Error("dataRoom accepted a 65535-byte frame")
	}
	var l header.Layout
	if header.ParseHeadInto(frames[0], len(frames[0]), &l) != header.OK || l.L4Len != 32 {
		t.Errorf("test frame does not parse as TCP with the timestamp option: %+v", l)
	}
}
