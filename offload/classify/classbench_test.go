package classify

import (
	"bufio"
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"

	"github.com/offloadpmd/offloadpmd/offload/header"
)

var aclSizes = []int{100, 1000, 10000}

// TestClassBench checks the classifier against the linear reference on
// the anchors' ClassBench rules and traces.
func TestClassBench(t *testing.T) {
	for _, n := range aclSizes {
		t.Run(fmt.Sprint(n), func(t *testing.T) {
			s := aclData(t, n)
			c := Compile(s.rules, nil)
			keys := s.keys
			if n >= 10000 && testing.Short() {
				keys = keys[:5000]
			}
			out := make([]RuleID, len(keys))
			c.Classify(keys, out)
			ref := newLinear(s.rules)
			matched := 0
			for i := range keys {
				want := ref.classify(&keys[i])
				if out[i] != want {
					t.Fatalf("key %d %v: got rule %d, want %d", i, keys[i].Tuple, out[i], want)
				}
				if want != NoMatch {
					matched++
				}
			}
			t.Logf("%d rules: %d of %d keys match; %+v", n, matched, len(keys), c.Stats())
		})
	}
}

// TestClassBenchDPDK checks the classifier against DPDK's own ACL library:
// dpdk-test-acl classifies the same trace with the same rules and prints
// each key's rule ("result: N", the 0-based rule, 4294967295 for none).
func TestClassBenchDPDK(t *testing.T) {
	bin, err := exec.LookPath("dpdk-test-acl")
	if err != nil {
		t.Skip("dpdk-test-acl is not installed")
	}
	for _, n := range []int{1000, 10000} {
		t.Run(fmt.Sprint(n), func(t *testing.T) {
			s := aclData(t, n)
			dir := t.TempDir()
			rf, tf := filepath.Join(dir, "rules.txt"), filepath.Join(dir, "trace.txt")
			writeClassBench(t, rf, tf, s)
			prefix := fmt.Sprintf("opmd_classify_%d_%d", os.Getpid(), n)
			defer os.RemoveAll(filepath.Join("/var/run/dpdk", prefix))
			cmd := exec.Command(bin, "-l", "0", "--no-huge", "-m", "512", "--no-pci", "--file-prefix="+prefix, "--",
				"--rulesf="+rf, "--tracef="+tf, fmt.Sprintf("--tracenum=%d", len(s.keys)), "--iter=1", "--alg=scalar", "--verbose=3")
			out, err := cmd.CombinedOutput()
			if err != nil {
				t.Skipf("dpdk-test-acl cannot run here: %v\n%s", err, lastLines(out, 5))
			}
			c := Compile(s.rules, nil)
			got := make([]RuleID, len(s.keys))
			c.Classify(s.keys, got)
			seen := 0
			sc := bufio.NewScanner(bytes.NewReader(out))
			for sc.Scan() {
				var key, cat int
				var res uint32
				if _, err := fmt.Sscanf(sc.Text(), "ipv4_5tuple: %d, category: %d, result: %d", &key, &cat, &res); err != nil {
					continue
				}
				seen++
				if key < 1 || key > len(got) {
					t.Fatalf("dpdk-test-acl names key %d of %d", key, len(got))
				}
				if got[key-1] != RuleID(res) {
					t.Fatalf("key %d %v: rule %d, DPDK ACL says %d", key-1, s.keys[key-1].Tuple, got[key-1], res)
				}
			}
			if seen != len(s.keys) {
				t.Fatalf("dpdk-test-acl printed %d results for %d keys:\n%s", seen, len(s.keys), lastLines(out, 5))
			}
		})
	}
}

// writeClassBench writes rules and keys back in dpdk-test-acl's formats
// (the keys of every test, not only of the generated files).
func writeClassBench(t *testing.T, rf, tf string, s aclSet) {
	var rb, tb strings.Builder
	for _, r := range s.rules {
		p := &r.Pattern
		port := func(f Field) (uint64, uint64) {
			for _, g := range []Field{f, f + UDPSrc - TCPSrc} {
				if c := p.Conds[g]; !c.IsAny() {
					return c.Lo, c.Hi
				}
			}
			return 0, 0xffff
		}
		pfx := func(f Field) string {
			n, _ := prefixLen(p.Conds[f].Mask, 32)
			return formatIPv4(p.Conds[f].Lo) + "/" + strconv.Itoa(n)
		}
		proto := "0x00/0x00"
		switch {
		case p.L4 != 0:
			proto = fmt.Sprintf("0x%02x/0xff", p.L4)
		case !p.Conds[IPv4Proto].IsAny():
			proto = fmt.Sprintf("0x%02x/0x%02x", p.Conds[IPv4Proto].Lo, p.Conds[IPv4Proto].Mask)
		}
		sl, sh := port(TCPSrc)
		dl, dh := port(TCPDst)
		fmt.Fprintf(&rb, "@%s %s %d : %d %d : %d %s\n", pfx(IPv4Src), pfx(IPv4Dst), sl, sh, dl, dh, proto)
	}
	for _, k := range s.keys {
		fmt.Fprintf(&tb, "0x%08x 0x%08x %d %d %d\n", k.Tuple[DimSrc], k.Tuple[DimDst], k.Tuple[DimSrcPort], k.Tuple[DimDstPort], k.Proto())
	}
	if err := os.WriteFile(rf, []byte(rb.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(tf, []byte(tb.String()), 0o644); err != nil {
		t.Fatal(err)
	}
}

func lastLines(b []byte, n int) string {
	l := strings.Split(strings.TrimSpace(string(b)), "\n")
	return strings.Join(l[max(0, len(l)-n):], "\n")
}

// BenchmarkClassBench classifies the anchors' 100,000-key trace in bursts
// of 256 (dpdk-test-acl's default trace step) on one core, for the
// comparison with dpdk-test-acl's pkt/sec.
func BenchmarkClassBench(b *testing.B) {
	for _, n := range aclSizes {
		b.Run(fmt.Sprintf("rules=%d", n), func(b *testing.B) {
			s := aclData(b, n)
			c := Compile(s.rules, nil)
			out := make([]RuleID, 256)
			b.ResetTimer()
			start := time.Now()
			for range b.N {
				for i := 0; i < len(s.keys); i += 256 {
					k := s.keys[i:min(i+256, len(s.keys))]
					c.Classify(k, out)
				}
			}
			el := time.Since(start)
			b.ReportMetric(float64(el.Nanoseconds())/float64(b.N)/float64(len(s.keys)), "ns/key")
		})
	}
}

// BenchmarkBuild compiles the ClassBench rule sets (a Set's update cost).
func BenchmarkBuild(b *testing.B) {
	for _, n := range aclSizes {
		b.Run(fmt.Sprintf("rules=%d", n), func(b *testing.B) {
			s := aclData(b, n)
			var st Stats
			for range b.N {
				st = Compile(s.rules, nil).Stats()
			}
			b.ReportMetric(float64(st.Bytes), "tree-bytes")
			b.ReportMetric(float64(st.Nodes), "nodes")
		})
	}
}

// BenchmarkFrames is the data path's whole cost per packet: parse the
// headers of a burst of 32 frames, fill their keys, classify them, with
// the 10,000 ClassBench rules and frames built from the first 1,024 keys
// of the trace (64-byte TCP and UDP frames).
func BenchmarkFrames(b *testing.B) {
	s := aclData(b, 10000)
	frames := make([][]byte, 1024)
	for i := range frames {
		frames[i] = traceFrame(b, &s.keys[i])
	}
	c := Compile(s.rules, nil)
	var keys [32]Key
	var out [32]RuleID
	var l header.Layout
	b.ResetTimer()
	for n := range b.N {
		base := n * 32 % len(frames)
		for i := range keys {
			f := frames[base+i]
			if header.ParseHeadInto(f, len(f), &l) != header.OK {
				b.Fatal("bad frame")
			}
			keys[i].FromFrame(f, &l)
		}
		c.Classify(keys[:], out[:])
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*32), "ns/pkt")
}

// traceFrame builds the 64-byte frame of a trace key.
func traceFrame(tb testing.TB, k *Key) []byte {
	ip := &layers.IPv4{Version: 4, IHL: 5, TTL: 64, Protocol: layers.IPProtocol(k.Proto()),
		SrcIP: be.AppendUint32(nil, k.Tuple[DimSrc]), DstIP: be.AppendUint32(nil, k.Tuple[DimDst])}
	var l4 gopacket.SerializableLayer
	sp, dp := uint16(k.Tuple[DimSrcPort]), uint16(k.Tuple[DimDstPort])
	if k.Proto() == header.ProtoTCP {
		t := &layers.TCP{SrcPort: layers.TCPPort(sp), DstPort: layers.TCPPort(dp), ACK: true}
		t.SetNetworkLayerForChecksum(ip)
		l4 = t
	} else {
		u := &layers.UDP{SrcPort: layers.UDPPort(sp), DstPort: layers.UDPPort(dp)}
		u.SetNetworkLayerForChecksum(ip)
		l4 = u
	}
	eth := &layers.Ethernet{SrcMAC: []byte{2, 0, 0, 0, 0, 1}, DstMAC: []byte{2, 0, 0, 0, 0, 2}, EthernetType: layers.EthernetTypeIPv4}
	buf := gopacket.NewSerializeBuffer()
	pad := gopacket.Payload(make([]byte, 64-14-20-8)) // UDP
	if k.Proto() == header.ProtoTCP {
		pad = pad[:64-14-20-20]
	}
	if err := gopacket.SerializeLayers(buf, gopacket.SerializeOptions{FixLengths: true, ComputeChecksums: true}, eth, ip, l4, pad); err != nil {
		tb.Fatal(err)
	}
	return slices.Clone(buf.Bytes())
}

// TestTraceFrames: keys filled from the frames are the trace's keys.
func TestTraceFrames(t *testing.T) {
	s := aclData(t, 1000)
	for i := range 1000 {
		f := traceFrame(t, &s.keys[i])
		l, m := header.Parse(f)
		if m != header.OK || len(f) != 64 {
			t.Fatalf("frame %d: %v, %d bytes", i, m, len(f))
		}
		var k Key
		k.FromFrame(f, &l)
		k.EthDst, k.EthSrc = 0, 0
		k.Tuple[DimTOSTTL], k.Tuple[DimEtherType], k.Tuple[DimTCPFlags] = 0, 0, 0
		if k != s.keys[i] {
			t.Fatalf("key %d from its frame: %+v, want %+v", i, k, s.keys[i])
		}
	}
}
