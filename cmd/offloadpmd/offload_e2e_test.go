package main

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"
	"github.com/gopacket/gopacket/pcapgo"
)

// superFlow is one flow of the binary test's traffic.
type superFlow struct {
	port    uint16 // source port, unique
	v6, udp bool
}

// superFrame builds a packet of flow f carrying payload at offset off of
// its byte stream, with its IPv4 header and TCP/UDP checksums spoiled (the
// csum engine must compute them).
func superFrame(t *testing.T, f superFlow, off int, payload []byte) []byte {
	t.Helper()
	eth := &layers.Ethernet{SrcMAC: net.HardwareAddr{2, 0, 0, 0, 0xe2, 2}, DstMAC: net.HardwareAddr{2, 0, 0, 0, 0xe2, 1}}
	proto := layers.IPProtocolTCP
	if f.udp {
		proto = layers.IPProtocolUDP
	}
	var l3 gopacket.SerializableLayer
	var nl gopacket.NetworkLayer
	if f.v6 {
		eth.EthernetType = layers.EthernetTypeIPv6
		ip := &layers.IPv6{Version: 6, HopLimit: 64, NextHeader: proto, SrcIP: net.ParseIP("fd00:203::2"), DstIP: net.ParseIP("fd00:203::1")}
		l3, nl = ip, ip
	} else {
		eth.EthernetType = layers.EthernetTypeIPv4
		ip := &layers.IPv4{Version: 4, TTL: 64, Protocol: proto, Id: f.port, SrcIP: net.IP{10, 203, 0, 2}, DstIP: net.IP{10, 203, 0, 1}}
		l3, nl = ip, ip
	}
	var l4 gopacket.SerializableLayer
	if f.udp {
		u := &layers.UDP{SrcPort: layers.UDPPort(f.port), DstPort: 47000}
		_ = u.SetNetworkLayerForChecksum(nl)
		l4 = u
	} else {
		tcp := &layers.TCP{SrcPort: layers.TCPPort(f.port), DstPort: 47000, Seq: 1000 + uint32(off), Ack: 1, ACK: true, PSH: true, Window: 502}
		_ = tcp.SetNetworkLayerForChecksum(nl)
		l4 = tcp
	}
	buf := gopacket.NewSerializeBuffer()
	if err := gopacket.SerializeLayers(buf, gopacket.SerializeOptions{FixLengths: true, ComputeChecksums: true}, eth, l3, l4, gopacket.Payload(payload)); err != nil {
		t.Fatal(err)
	}
	fr := buf.Bytes()
	l3len := 20
	if f.v6 {
		l3len = 40
	} else {
		binary.BigEndian.PutUint16(fr[14+10:], 0xdead)
	}
	field := 14 + l3len + 16
	if f.udp {
		field = 14 + l3len + 6
	}
	binary.BigEndian.PutUint16(fr[field:], 0xbeef)
	return fr
}

// readFrames reads the complete packets of a pcap that may still be being
// written.
func readFrames(path string) ([][]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	r, err := pcapgo.NewReader(f)
	if err != nil {
		return nil, err
	}
	var out [][]byte
	for {
		data, _, err := r.ReadPacketData()
		if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
			return out, nil
		}
		if err != nil {
			return out, err
		}
		out = append(out, data)
	}
}

func csum16(b []byte, s uint32) uint32 {
	for ; len(b) >= 2; b = b[2:] {
		s += uint32(b[0])<<8 | uint32(b[1])
	}
	if len(b) == 1 {
		s += uint32(b[0]) << 8
	}
	return s
}

func csumOK(s uint32) bool {
	for s>>16 != 0 {
		s = s&0xffff + s>>16
	}
	return s == 0xffff
}

// checkSegment decodes an output frame with gopacket and checks its
// checksums (with its own arithmetic) and lengths; it returns the flow's
// source port, the payload's stream offset (TCP; -1 for UDP) and the
// payload.
func checkSegment(fr []byte) (port uint16, off int, payload []byte, err error) {
	p := gopacket.NewPacket(fr, layers.LayerTypeEthernet, gopacket.Default)
	if el := p.ErrorLayer(); el != nil {
		return 0, 0, nil, fmt.Errorf("gopacket: %v", el.Error())
	}
	var pseudo, l4 []byte
	switch ip := p.NetworkLayer().(type) {
	case *layers.IPv4:
		if int(ip.Length) != len(fr)-14 || ip.Length > 1500 {
			return 0, 0, nil, fmt.Errorf("IPv4 length %d in a %d-byte frame (MTU 1500)", ip.Length, len(fr))
		}
		if !csumOK(csum16(ip.Contents, 0)) {
			return 0, 0, nil, fmt.Errorf("bad IPv4 header checksum %#04x", ip.Checksum)
		}
		l4 = fr[14+len(ip.Contents):]
		pseudo = append(append(append([]byte{}, ip.SrcIP.To4()...), ip.DstIP.To4()...), 0, byte(ip.Protocol), byte(len(l4)>>8), byte(len(l4)))
	case *layers.IPv6:
		if 40+int(ip.Length) != len(fr)-14 || 40+int(ip.Length) > 1500 {
			return 0, 0, nil, fmt.Errorf("IPv6 payload length %d in a %d-byte frame (MTU 1500)", ip.Length, len(fr))
		}
		l4 = fr[54:]
		pseudo = append(append(append([]byte{}, ip.SrcIP...), ip.DstIP...), 0, 0, byte(len(l4)>>8), byte(len(l4)), 0, 0, 0, byte(ip.NextHeader))
	default:
		return 0, 0, nil, fmt.Errorf("not IP")
	}
	if !csumOK(csum16(l4, csum16(pseudo, 0))) {
		return 0, 0, nil, fmt.Errorf("bad L4 checksum")
	}
	switch l := p.TransportLayer().(type) {
	case *layers.TCP:
		return uint16(l.SrcPort), int(l.Seq - 1000), l.Payload, nil
	case *layers.UDP:
		if l.Checksum == 0 {
			return 0, 0, nil, fmt.Errorf("UDP checksum not computed")
		}
		return uint16(l.SrcPort), -1, l.Payload, nil
	}
	return 0, 0, nil, fmt.Errorf("neither TCP nor UDP")
}

var counterLine = regexp.MustCompile(`(?m)^([a-z0-9_-]+) +(\d+)$`)

// TestOffloadE2EBinaryPcap drives the binary as the manual run
// did: 64000-byte TCP and UDP packets over IPv4 and IPv6 from a pcap
// (net_pcap delivers them as mbuf chains), `tso set` and `uso set` from a
// --cmdline-file, the csum engine, a pcap out. The output must decode with
// valid checksums (our arithmetic and tshark's), fit the MTU, carry at
// most the MSS, and give back each flow's bytes in order; `show offload
// stats` must count the work and `show port 0 offload --json` must show
// segmentation enabled in software.
func TestOffloadE2EBinaryPcap(t *testing.T) {
	needRoot(t)
	const tso, uso = 1440, 1452 // 40+20+1440 and 40+8+1452: the 1500-byte MTU
	dir := t.TempDir()
	in, out, cmds := filepath.Join(dir, "in.pcap"), filepath.Join(dir, "out.pcap"), filepath.Join(dir, "cmds")
	flows := []superFlow{{41001, false, false}, {41002, true, false}, {41003, false, true}, {41004, true, true}}
	data := map[uint16][]byte{}
	sizes := []int{64000, 64000, 300}
	var frames [][]byte
	want, supers := 0, 0
	for _, f := range flows {
		d := make([]byte, 64000+64000+300)
		rng := rand.New(rand.NewPCG(uint64(f.port), 7))
		for i := range d {
			d[i] = byte(rng.Uint32())
		}
		data[f.port] = d
	}
	off := 0
	for _, n := range sizes {
		for _, f := range flows {
			frames = append(frames, superFrame(t, f, off, data[f.port][off:off+n]))
			mss := tso
			if f.udp {
				mss = uso
			}
			if n > mss {
				want += (n + mss - 1) / mss
				supers++
			} else {
				want++
			}
		}
		off += n
	}
	writeFrames(t, in, frames)
	if err := os.WriteFile(cmds, []byte(fmt.Sprintf("tso set %d 0\nuso set %d 0\n", tso, uso)), 0o644); err != nil {
		t.Fatal(err)
	}

	cmd := exec.Command(bin, append(eal(t, "net_pcap0,rx_pcap="+in+",tx_pcap="+out),
		"--", "-i", "--port-topology=loop", "--forward-mode=csum", "--total-num-mbufs=8192", "--no-flush-rx",
		"--cmdline-file="+cmds)...)
	stdin, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	defer func() {
		if cmd.ProcessState == nil {
			_ = cmd.Process.Kill()
			<-exited
		}
	}()
	fmt.Fprintln(stdin, "show port 0 offload --json")
	fmt.Fprintln(stdin, "start")
	deadline := time.Now().Add(15 * time.Second)
	var got [][]byte
	for time.Now().Before(deadline) {
		if got, _ = readFrames(out); len(got) >= want {
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	fmt.Fprintln(stdin, "stop")
	fmt.Fprintln(stdin, "show offload stats")
	fmt.Fprintln(stdin, "quit")
	stdin.Close()
	select {
	case err := <-exited:
		if err != nil {
			t.Fatalf("exit: %v\nstdout:\n%s\nstderr:\n%s", err, stdout.String(), stderr.String())
		}
	case <-time.After(20 * time.Second):
		_ = cmd.Process.Kill()
		<-exited
		t.Fatalf("no exit after quit\nstdout:\n%s", stdout.String())
	}
	noPanic(t, result{stdout: stdout.String(), stderr: stderr.String()})
	if got, err = readFrames(out); err != nil {
		t.Fatal(err)
	}

	// The packets.
	if len(got) != want {
		t.Errorf("%d packets out, want %d", len(got), want)
	}
	rebuilt := map[uint16][]byte{}
	bad := 0
	for i, fr := range got {
		port, off, payload, err := checkSegment(fr)
		if err == nil && off >= 0 && off != len(rebuilt[port]) {
			err = fmt.Errorf("segment at offset %d, want %d", off, len(rebuilt[port]))
		}
		mss := tso
		if off < 0 {
			mss = uso
		}
		if err == nil && len(payload) > mss {
			err = fmt.Errorf("%d payload bytes, more than the MSS %d", len(payload), mss)
		}
		if err != nil {
			if bad++; bad <= 8 {
				t.Errorf("output %d: %v", i, err)
			}
			continue
		}
		rebuilt[port] = append(rebuilt[port], payload...)
	}
	for _, f := range flows {
		if !bytes.Equal(rebuilt[f.port], data[f.port]) {
			t.Errorf("flow %d: got back %d payload bytes, sent %d, or they differ", f.port, len(rebuilt[f.port]), len(data[f.port]))
		}
	}
	t.Run("tshark", func(t *testing.T) {
		if _, err := exec.LookPath("tshark"); err != nil {
			t.Skip("tshark not installed (scripts/install-deps.sh installs it): checked with gopacket only")
		}
		o, err := exec.Command("tshark", "-r", out, "-n", "-o", "tcp.check_checksum:TRUE", "-o", "udp.check_checksum:TRUE",
			"-o", "ip.check_checksum:TRUE", "-T", "fields", "-E", "separator=,",
			"-e", "ip.checksum.status", "-e", "tcp.checksum.status", "-e", "udp.checksum.status").Output()
		if err != nil {
			t.Fatal(err)
		}
		n := 0
		sc := bufio.NewScanner(bytes.NewReader(o))
		for sc.Scan() {
			n++
			f := strings.Split(sc.Text(), ",")
			// 1 is Good; IPv6 has no header checksum.
			if len(f) != 3 || (f[0] != "1" && f[0] != "") || f[1]+f[2] != "1" {
				t.Errorf("tshark: packet %d: ip, tcp, udp checksum status %q (1 is good)", n, sc.Text())
			}
		}
		if n != want {
			t.Errorf("tshark read %d packets, want %d", n, want)
		}
	})

	// What the binary says about it.
	s := stdout.String()
	counters := map[string]uint64{}
	for _, m := range counterLine.FindAllStringSubmatch(s, -1) {
		v, _ := strconv.ParseUint(m[2], 10, 64)
		counters[m[1]] = v
	}
	if counters["seg-inputs"] != uint64(supers) || counters["seg-outputs"] != uint64(want-(len(frames)-supers)) ||
		counters["software-tso"] != uint64(supers/2) || counters["software-uso"] != uint64(supers/2) {
		t.Errorf("show offload stats: %v; want %d packets segmented into %d, half by TSO, half by USO", counters, supers, want-(len(frames)-supers))
	}
	for name, v := range counters {
		if strings.HasPrefix(name, "drop-") || strings.HasPrefix(name, "refused-") {
			t.Errorf("show offload stats: %s %d", name, v)
		}
	}
	i := strings.Index(s, "{")
	if i < 0 {
		t.Fatalf("show port 0 offload --json printed no JSON:\n%s", s)
	}
	js := s[i:]
	var table struct {
		MTU          int `json:"mtu"`
		Capabilities []struct {
			Dir, Name, Performer string
			Enabled              bool
		} `json:"capabilities"`
	}
	if err := json.NewDecoder(strings.NewReader(js)).Decode(&table); err != nil {
		t.Fatalf("show port 0 offload --json: %v\n%s", err, s)
	}
	wantOn := map[string]bool{"tcp_tso": true, "tcp_tso6": true, "udp_tso": true, "udp_tso6": true, "ipv4_cksum": true, "tcp_cksum": true, "udp_cksum": true}
	for _, c := range table.Capabilities {
		if c.Dir == "tx" && wantOn[c.Name] {
			if !c.Enabled || c.Performer != "software" {
				t.Errorf("port 0 tx %s: enabled %v, performed by %s; want enabled, in software", c.Name, c.Enabled, c.Performer)
			}
			delete(wantOn, c.Name)
		}
	}
	if len(wantOn) != 0 || table.MTU != 1500 {
		t.Errorf("port 0 table: MTU %d, capabilities missing: %v", table.MTU, wantOn)
	}
	if strings.Contains(stderr.String(), "not supported") || strings.Contains(stderr.String(), "Bad arguments") {
		t.Errorf("stderr:\n%s", stderr.String())
	}
}

// writeFrames writes frames to a pcap file, a nanosecond apart.
func writeFrames(t *testing.T, name string, frames [][]byte) {
	t.Helper()
	pf, err := os.Create(name)
	if err != nil {
		t.Fatal(err)
	}
	defer pf.Close()
	w := pcapgo.NewWriter(pf)
	if err := w.WriteFileHeader(65535, layers.LinkTypeEthernet); err != nil {
		t.Fatal(err)
	}
	for i, fr := range frames {
		ci := gopacket.CaptureInfo{Timestamp: time.Unix(1700000000, int64(i)), CaptureLength: len(fr), Length: len(fr)}
		if err := w.WritePacket(ci, fr); err != nil {
			t.Fatal(err)
		}
	}
}
