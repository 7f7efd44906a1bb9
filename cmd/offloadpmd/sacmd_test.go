package main

import (
	"bytes"
	"fmt"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/offloadpmd/offloadpmd/offload/esp"
	"github.com/offloadpmd/offloadpmd/pipeline"
)

// Test keys (those of the interop tests): GCM-128 key and salt, AES-256,
// HMAC-SHA-256.
const (
	testGCMKey  = "0x4c80cdefbb5d10da906ac73c3613a63411223344"
	testCBCKey  = "00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff"
	testAuthKey = "a1a2a3a4a5a6a7a8a9aaabacadaeafb0b1b2b3b4b5b6b7b8b9babbbcbdbebfc0"
)

// saApp is cliApp with an offload configuration: the sa commands need no
// EAL.
func saApp() (*app, *bytes.Buffer) {
	a, out := cliApp()
	a.off = pipeline.DefaultOffload(a.tables)
	return a, out
}

func execLines(t *testing.T, a *app, lines ...string) {
	t.Helper()
	for _, l := range lines {
		if err := a.exec(l); err != nil {
			t.Fatalf("%s: %v", l, err)
		}
	}
}

// noKeys fails t if s holds a piece of any test key.
func noKeys(t *testing.T, what, s string) {
	t.Helper()
	for _, k := range []string{testGCMKey[2:], testCBCKey, testAuthKey} {
		for i := 0; i+8 <= len(k); i += 8 {
			if strings.Contains(s, k[i:i+8]) {
				t.Fatalf("%s shows key material %q:\n%s", what, k[i:i+8], s)
			}
		}
	}
}

// TestSACommands: sa add, show, policy and del change the SA table and
// the policies the data path reads, say what they did, and never show a
// key.
func TestSACommands(t *testing.T) {
	a, out := saApp()
	execLines(t, a,
		"sa show",
		"sa add 3 spi 0x1000 out tunnel aes128gcm16 enc "+testGCMKey+" src 10.77.1.1 dst 10.77.0.2 ttl 32 df set",
		"sa add 4 spi 4097 in tunnel aes-cbc-256-hmac-sha256 enc "+testCBCKey+" auth "+testAuthKey+" src 10.77.0.2 dst 10.77.1.1 esn window 1024",
		"sa add 5 spi 0x2000 out transport AES256-SHA256 enc "+testCBCKey+" auth "+testAuthKey+" src fd77::1 dst fd77::2",
		"sa policy 1 10.77.0.0/24 sa 3",
		"sa policy 1 fd77::2 sa 5",
		"sa policy 1 any sa 3",
		"sa show",
		"sa show 3",
		"sa show 4",
	)
	got := out.String()
	noKeys(t, "output", got)
	for _, w := range []string{
		"No SAs.\nNo outbound policies.\n",
		"SA 3 added: sa 3 spi 0x00001000 out tunnel aes128gcm16 10.77.1.1->10.77.0.2\n",
		"SA 4 added: sa 4 spi 0x00001001 in tunnel aes256-sha256 esn window 1024 10.77.0.2->10.77.1.1\n",
		"Port 1: packets to 10.77.0.0/24 leave encrypted with SA 3\nPort 1 does not encrypt yet (port config 1 tx_offload esp_encrypt on)\n",
		"Port 1: packets to fd77::2/128 leave encrypted with SA 5\n",
		"Port 1: packets to any leave encrypted with SA 3\n",
		"SA  SPI         DIR  MODE       ALGORITHM      ESN  WINDOW  ENDPOINTS               SEQ\n",
		"3   0x00001000  out  tunnel     aes128gcm16    off  -       10.77.1.1 -> 10.77.0.2  0\n",
		"4   0x00001001  in   tunnel     aes256-sha256  on   1024    10.77.0.2 -> 10.77.1.1  0\n",
		"5   0x00002000  out  transport  aes256-sha256  off  -       fd77::1 -> fd77::2      0\n",
		"Outbound policies (per port, the first match wins):\n  PORT  DST           SA  ENCRYPTS\n  1     10.77.0.0/24  3   no: port config 1 tx_offload esp_encrypt on\n  1     fd77::2/128   5   no",
		"SA 3\n  SPI:            0x00001000 (4096)\n  Direction:      out\n  Mode:           tunnel\n  Algorithm:      aes128gcm16\n  Enc key:        [redacted] (20 bytes)\n",
		"  Outer TTL:      32\n  Outer DF:       set\n  Last seq sent:  0\n  Policy:         port 1 dst 10.77.0.0/24 (encrypts: no: port config 1 tx_offload esp_encrypt on)\n",
		"  Auth key:       [redacted] (32 bytes)\n", "  Replay window:  1024\n  Highest seq:    0\n",
	} {
		if !strings.Contains(got, w) {
			t.Errorf("output lacks %q:\n%s", w, got)
		}
	}
	// What the data path reads.
	tbl := a.off.SAs.Load()
	if tbl.Len() != 3 || tbl.Lookup(4097, netip.MustParseAddr("10.77.1.1")) != tbl.SA(4) || tbl.SA(3).Dir() != esp.Outbound {
		t.Errorf("SA table: %d SAs, %v", tbl.Len(), tbl.All(nil))
	}
	if c := tbl.SA(4).Config(); !c.ESN || c.ReplayWindow != 1024 || c.AuthKey.Len() != 32 {
		t.Errorf("sa 4: %+v", c)
	}
	if c := tbl.SA(3).Config(); c.TTL != 32 || c.DF != esp.DFSet || string(c.EncKey.Bytes()) != string(mustKey(t, testGCMKey)) {
		t.Errorf("sa 3: ttl %d df %v, or its key differs", c.TTL, c.DF)
	}
	ps := a.off.ESP.Load(1)
	if len(ps) != 3 || ps[0].SA != 3 || ps[1].SA != 5 || ps[2].Dst.IsValid() {
		t.Errorf("port 1 policies %+v", ps)
	}

	// Refusals, each saying why; nothing changes.
	out.Reset()
	execLines(t, a,
		"sa add 3 spi 0x3000 out transport aes128gcm16 enc "+testGCMKey,                             // index taken
		"sa add 6 spi 0x1000 out tunnel aes128gcm16 enc "+testGCMKey+" src 10.77.1.1 dst 10.77.0.2", // same SPI, dir, dst
		"sa add 6 spi 0x3000 out tunnel aes128gcm16 enc "+testGCMKey,                                // tunnel without endpoints
		"sa add 6 spi 0x3000 out transport aes256gcm16 enc "+testGCMKey,                             // short key
		"sa add 6 spi 0x3000 out transport aes256-sha256 enc "+testCBCKey,                           // no auth key
		"sa add 6 spi 0x3000 out transport aes128gcm16 enc "+testGCMKey+" auth "+testAuthKey,
		"sa add 6 spi 0x3000 out transport aes128gcm16 enc "+testGCMKey+" src 10.0.0.1 dst fd00::1",
		"sa policy 1 any sa 4",        // inbound
		"sa policy 1 any sa 9",        // none
		"sa policy 1 10.0.0.0/8 sa 5", // transport IPv6 SA, IPv4 dst
		"sa del 3",                    // used by a policy
		"sa del 9",                    // none
		"sa show 9",                   // none
	)
	errs := out.String()
	noKeys(t, "errors", errs)
	for _, w := range []string{
		"sa add: invalid SA: spi 0x3000: index 3 is taken by sa 3 spi 0x00001000",
		"sa add: invalid SA: spi 0x1000: sa 3 spi 0x00001000 out tunnel aes128gcm16 10.77.1.1->10.77.0.2 has the same SPI, direction and destination",
		"sa add: invalid SA: spi 0x3000: tunnel mode needs src and dst",
		"sa add: invalid SA: spi 0x3000: enc key: 20 bytes, aes256gcm16 takes 36 (a 32-byte key and a 4-byte salt)",
		"sa add: invalid SA: spi 0x3000: auth key: 0 bytes, HMAC-SHA-256-128 takes 32",
		"sa add: invalid SA: spi 0x3000: auth key: aes128gcm16 authenticates with its own key; give none",
		"sa add: invalid SA: spi 0x3000: src 10.0.0.1 and dst fd00::1 are of different IP versions",
		"sa policy: SA 4 is inbound: a policy sends packets through an outbound SA",
		"sa policy: no SA 9 (sa show lists them)",
		"sa policy: dst 10.0.0.0/8: SA 5 is a transport-mode SA for IPv6 only",
		"sa del: SA 3 is used by port 1's outbound policy (dst 10.77.0.0/24): `sa policy 1 clear` first",
		"sa del: no SA 9 (sa show lists them)",
		"sa show: no SA 9 (sa show lists them)",
	} {
		if !strings.Contains(errs, w) {
			t.Errorf("errors lack %q:\n%s", w, errs)
		}
	}
	if a.off.SAs.Load().Len() != 3 || len(a.off.ESP.Load(1)) != 3 {
		t.Errorf("a refused command changed the SAs or policies")
	}

	// A policy for a destination already listed replaces its SA in place.
	execLines(t, a, "sa add 7 spi 0x7000 out tunnel aes128gcm16 enc "+testGCMKey+" src 10.77.1.1 dst 10.77.0.3", "sa policy 1 10.77.0.0/24 sa 7")
	if ps := a.off.ESP.Load(1); len(ps) != 3 || ps[0].SA != 7 {
		t.Errorf("policies after replacing: %+v", ps)
	}
	out.Reset()
	execLines(t, a, "sa policy 1 clear", "sa del 3", "sa del 4", "sa del 5", "sa del 7", "sa show")
	if got := out.String(); !strings.Contains(got, "Port 1: outbound policies cleared\nSA 3 deleted\nSA 4 deleted\n") ||
		!strings.HasSuffix(got, "No SAs.\nNo outbound policies.\n") {
		t.Errorf("clear and delete:\n%s", got)
	}
}

func mustKey(t *testing.T, s string) []byte {
	k, err := esp.ParseKey(s)
	if err != nil {
		t.Fatal(err)
	}
	return k.Bytes()
}

// TestSAKeysNeverEchoed: a mistyped line holding a key, and the prompt's
// history, never show the key.
func TestSAKeysNeverEchoed(t *testing.T) {
	a, out := saApp()
	execLines(t, a,
		"sa ad 0 spi 0x1000 out transport aes128gcm16 enc "+testGCMKey,                           // command not found
		"sa add 0 spi 0x1000 out transport aes128gcm16 enc "+testGCMKey[:12]+" "+testGCMKey[12:], // a key with a space
		"sa add 0 spi 0x1000 out transport aes128-sha256 enc "+testCBCKey[:32]+" auth "+testAuthKey[:20]+"x"+testAuthKey[21:],
		"sa add 0 spi 0x1000 out transport aes128-sha256 enc "+testCBCKey[:32]+" auth "+testAuthKey+"0",
		"sa adx 0 spi 0x1000 out transport aes128gcm16 enc "+testCBCKey+testAuthKey,
	)
	noKeys(t, "output", out.String())
	if !strings.Contains(out.String(), `Command not found: "sa ad 0 spi 0x1000 out transport aes128gcm16 enc [redacted]"`) {
		t.Errorf("output:\n%s", out.String())
	}
	for line, want := range map[string]string{
		"sa add 0 spi 0x1000 out transport aes128gcm16 enc " + testGCMKey + " esn":      "sa add 0 spi 0x1000 out transport aes128gcm16 enc [redacted] esn",
		"sa add 1 spi 0x1001 in transport aes128-sha256 enc 0011 auth   " + testAuthKey: "sa add 1 spi 0x1001 in transport aes128-sha256 enc [redacted] auth [redacted]",
		"frob " + testCBCKey:  "frob [redacted]",
		"show port 0 offload": "show port 0 offload",
		"sa policy 1 2001:0db8:0000:0000:0000:0000:0000:0001 sa 3": "sa policy 1 2001:0db8:0000:0000:0000:0000:0000:0001 sa 3",
	} {
		if got := redactLine(line); got != want {
			t.Errorf("redactLine(%q) = %q, want %q", line, got, want)
		}
	}
}

// TestSACompletion: Tab completes the sa commands' words, algorithms and
// the options not given yet.
func TestSACompletion(t *testing.T) {
	a, _ := saApp()
	checkCompletions(t, a, []completionCase{
		{"sa ", []string{"add ", "del ", "show ", "policy "}, nil},
		{"sa add 0 ", []string{"spi "}, nil},
		{"sa add 0 spi 0x1000 ", []string{"in ", "out "}, nil},
		{"sa add 0 spi 0x1000 out tunnel ", []string{"aes128gcm16 ", "aes256-sha256 "}, nil},
		{"sa add 0 spi 0x1000 out tunnel aes128gcm16 ", []string{"enc "}, nil},
		{"sa add 0 spi 0x1000 out tunnel aes128gcm16 enc 00 ", []string{"auth ", "src ", "esn ", "df "}, nil},
		{"sa add 0 spi 0x1000 out tunnel aes128gcm16 enc 00 esn src 10.0.0.1 ", []string{"dst ", "window "}, []string{"esn ", "src "}},
		{"sa add 0 spi 0x1000 out tunnel aes128gcm16 enc 00 df ", []string{"copy ", "set ", "clear "}, []string{"esn "}},
		{"sa policy 0 ", []string{"any ", "clear "}, nil},
		{"sa policy 0 any ", []string{"sa "}, nil},
		{"sa policy ", []string{"0 ", "1 ", "32 "}, nil},
	})
}

// TestSAConfigFile: the config file's SAs and policies are installed at
// startup (sa show lists them, the policy's port encrypts), and a policy
// naming a port that does not exist stops offloadpmd with an error.
func TestSAConfigFile(t *testing.T) {
	needRoot(t)
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "gcm.key"), []byte(testGCMKey+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	write := func(port int) string {
		name := filepath.Join(dir, fmt.Sprintf("esp%d.yaml", port))
		text := fmt.Sprintf(`ports:
  - devargs: net_null0
  - devargs: net_null1
    offloads: {tx: [esp_encrypt]}
sas:
  - {index: 4, spi: 0x1000, dir: out, mode: tunnel, alg: aes128gcm16, enc_key_file: gcm.key,
     src: 10.0.0.1, dst: 10.0.0.2, policy: {port: %d, dst: 10.9.0.0/16}}
  - {index: 5, spi: 0x1001, dir: in, mode: transport, alg: aes128gcm16, enc_key_file: gcm.key}
`, port)
		if err := os.WriteFile(name, []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
		return name
	}
	eal := eal(t)
	r := runBin(t, "sa show\nquit\n", 60*time.Second, append(eal[:len(eal):len(eal)], "--", "-i", "--config", write(1), "--total-num-mbufs=8192")...)
	noPanic(t, r)
	if r.code != 0 {
		t.Fatalf("exit %d\n%s\n%s", r.code, r.stdout, r.stderr)
	}
	noKeys(t, "output", r.stdout+r.stderr)
	for _, w := range []string{"4   0x00001000  out  tunnel     aes128gcm16  off  -       10.0.0.1 -> 10.0.0.2  0",
		"5   0x00001001  in   transport  aes128gcm16  off  64      any", "  1     10.9.0.0/16  4   yes"} {
		if !strings.Contains(r.stdout, w) {
			t.Errorf("sa show lacks %q:\n%s", w, r.stdout)
		}
	}
	r = runBin(t, "quit\n", 60*time.Second, append(eal[:len(eal):len(eal)], "--", "-i", "--config", write(5), "--total-num-mbufs=8192")...)
	noPanic(t, r)
	if r.code == 0 || !strings.Contains(r.stderr, "sa 4: policy: no port 5 (ports: 0 1)") {
		t.Errorf("a policy on port 5 of 0 and 1: exit %d\n%s", r.code, r.stderr)
	}
}
