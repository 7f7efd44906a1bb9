package esp

import (
	"bytes"
	"encoding/hex"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"
	"github.com/gopacket/gopacket/pcapgo"
	"github.com/offloadpmd/offloadpmd/offload/header"
)

// wiresharkAlg names an algorithm as Wireshark's ESP SA table does:
// encryption, then authentication.
func wiresharkAlg(a Algorithm) (enc, auth string) {
	if a.AEAD() {
		return "AES-GCM with 16 octet ICV [RFC4106]", "NULL"
	}
	return "AES-CBC [RFC3602]", "HMAC-SHA-256-128 [RFC4868]"
}

// TestWiresharkDecrypts: Wireshark's ESP dissector, an implementation of
// its own, decrypts what we encrypt and finds the ICV correct, for every
// algorithm and mode, over IPv4 and IPv6, payloads of several sizes.
// (Wireshark 4.0 has no extended sequence numbers: their ICV it cannot
// check.)
func TestWiresharkDecrypts(t *testing.T) {
	tshark, err := exec.LookPath("tshark")
	if err != nil {
		t.Skip("tshark is not installed (scripts/install-deps.sh installs it)")
	}
	sizes := []int{0, 1, 31, 200, 1400}
	for _, alg := range Algorithms() {
		for _, mode := range []Mode{Tunnel, Transport} {
			for _, v6 := range []bool{false, true} {
				name := fmt.Sprintf("%v/%v/v6=%v", alg, mode, v6)
				_, out, _ := pair(t, alg, mode, v6, false)
				file := filepath.Join(t.TempDir(), "esp.pcap")
				fh, err := os.Create(file)
				if err != nil {
					t.Fatal(err)
				}
				w := pcapgo.NewWriter(fh)
				if err := w.WriteFileHeader(65536, layers.LinkTypeEthernet); err != nil {
					t.Fatal(err)
				}
				for _, n := range sizes {
					p := inBuffer(frame(t, v6, false, n), 128, 64)
					encrypt(t, out, p, header.EthernetLen)
					ci := gopacket.CaptureInfo{Timestamp: time.Unix(1, 0), CaptureLength: p.Len, Length: p.Len}
					if err := w.WritePacket(ci, p.Bytes()); err != nil {
						t.Fatal(err)
					}
				}
				fh.Close()

				enc, auth := wiresharkAlg(alg)
				family := "IPv4"
				if v6 {
					family = "IPv6"
				}
				sa := fmt.Sprintf(`uat:esp_sa:"%s","*","*","0x%08x","%s","0x%s","%s","%s"`, family, out.SPI(), enc,
					hex.EncodeToString(out.cfg.EncKey.Bytes()), auth, hexOrEmpty(out.cfg.AuthKey.Bytes()))
				cmd := exec.Command(tshark, "-r", file, "-o", "esp.enable_encryption_decode:TRUE",
					"-o", "esp.enable_authentication_check:TRUE", "-o", sa,
					"-T", "fields", "-E", "separator=|", "-e", "esp.sequence", "-e", "esp.icv_good", "-e", "udp.srcport", "-e", "data.data")
				var stderr bytes.Buffer
				cmd.Stderr = &stderr
				got, err := cmd.Output()
				if err != nil {
					t.Fatalf("%s: tshark: %v: %s", name, err, stderr.String())
				}
				lines := strings.Split(strings.TrimSpace(string(got)), "\n")
				if len(lines) != len(sizes) {
					t.Fatalf("%s: tshark printed %d lines:\n%s", name, len(lines), got)
				}
				for i, l := range lines {
					f := strings.Split(l, "|")
					payload := hex.EncodeToString(frame(t, v6, false, sizes[i])[header.EthernetLen+header.IPv4MinLen+8:])
					if v6 {
						payload = hex.EncodeToString(frame(t, v6, false, sizes[i])[header.EthernetLen+header.IPv6Len+8:])
					}
					good := f[1] == "1" || strings.EqualFold(f[1], "true")
					if f[0] != strconv.Itoa(i+1) || !good || f[2] != "1000" || f[3] != payload {
						t.Errorf("%s: packet %d (%d bytes): Wireshark reads sequence %s, ICV good %q, UDP port %q, data %.40s",
							name, i+1, sizes[i], f[0], f[1], f[2], f[3])
					}
				}
			}
		}
	}
}

func hexOrEmpty(b []byte) string {
	if len(b) == 0 {
		return ""
	}
	return "0x" + hex.EncodeToString(b)
}
