package config

import (
	"bytes"
	"errors"
	"net/netip"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/offloadpmd/offloadpmd/offload/esp"
)

// Test keys: an AES-128 key and salt (GCM), an AES-256 key (CBC), an
// HMAC-SHA-256 key.
const (
	gcmKeyHex  = "0x4c80cdefbb5d10da906ac73c3613a63411223344"
	cbcKeyHex  = "00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff"
	authKeyHex = "a1a2a3a4a5a6a7a8a9aaabacadaeafb0b1b2b3b4b5b6b7b8b9babbbcbdbebfc0"
)

// keyFiles writes the test keys, mode 0600, next to where writeFile puts
// the config (dir), and returns dir.
func keyFiles(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	for name, k := range map[string]string{"gcm.key": gcmKeyHex + "\n", "cbc.key": cbcKeyHex, "auth.key": "  " + authKeyHex[:32] + "\n" + authKeyHex[32:] + "\n",
		"short.key": "0x0011", "odd.key": "abc", "bad.key": "0xzz4c80cdefbb5d10da906ac73c3613a634112233", "empty.key": "\n"} {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(k), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

func writeIn(t *testing.T, dir, text string) string {
	t.Helper()
	name := filepath.Join(dir, "offload.yaml")
	if err := os.WriteFile(name, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
	return name
}

const saFile = `
sas:
  - index: 2
    name: to-b
    spi: 0x1001
    dir: out
    mode: tunnel
    alg: aes128gcm16
    enc_key_file: gcm.key
    src: 10.77.1.1
    dst: 10.77.0.2
    esn: true
    ttl: 32
    df: set
    policy: {port: 33, dst: 10.77.0.0/24}
  - spi: 0x2001
    dir: in
    mode: tunnel
    alg: aes-cbc-256-hmac-sha256
    enc_key_file: cbc.key
    auth_key_file: auth.key
    src: 10.77.0.2
    dst: 10.77.1.1
    replay_window: 1024
  - index: 7
    spi: 4097
    dir: out
    mode: transport
    alg: aes256-sha256
    enc_key_file: cbc.key
    auth_key_file: auth.key
    policy: {port: 1}
  - index: 8
    spi: 0x3001
    dir: out
    mode: transport
    alg: aes128gcm16
    enc_key_file: gcm.key
    src: fd77::1
    dst: fd77::2
    policy: {port: 1, dst: "fd77::2"}
`

// TestConfigSAs: the sas section gives SAs without key material, whose
// Config reads the keys from their files.
func TestConfigSAs(t *testing.T) {
	dir := keyFiles(t)
	c, err := LoadFile(writeIn(t, dir, saFile))
	if err != nil {
		t.Fatal(err)
	}
	if len(c.Warnings) != 0 {
		t.Errorf("warnings %q for key files of mode 0600", c.Warnings)
	}
	want := []SASpec{
		{Index: 2, SA: esp.Config{Name: "to-b", SPI: 0x1001, Dir: esp.Outbound, Mode: esp.Tunnel, Alg: esp.AESGCM128, ESN: true,
			Src: netip.MustParseAddr("10.77.1.1"), Dst: netip.MustParseAddr("10.77.0.2"), TTL: 32, DF: esp.DFSet},
			EncKeyFile: filepath.Join(dir, "gcm.key"), Policy: &SAPolicy{Port: 33, Dst: netip.MustParsePrefix("10.77.0.0/24")}},
		{Index: 1, SA: esp.Config{SPI: 0x2001, Dir: esp.Inbound, Mode: esp.Tunnel, Alg: esp.AESCBC256SHA256, ReplayWindow: 1024,
			Src: netip.MustParseAddr("10.77.0.2"), Dst: netip.MustParseAddr("10.77.1.1")},
			EncKeyFile: filepath.Join(dir, "cbc.key"), AuthKeyFile: filepath.Join(dir, "auth.key")},
		{Index: 7, SA: esp.Config{SPI: 0x1001, Dir: esp.Outbound, Mode: esp.Transport, Alg: esp.AESCBC256SHA256},
			EncKeyFile: filepath.Join(dir, "cbc.key"), AuthKeyFile: filepath.Join(dir, "auth.key"), Policy: &SAPolicy{Port: 1}},
		{Index: 8, SA: esp.Config{SPI: 0x3001, Dir: esp.Outbound, Mode: esp.Transport, Alg: esp.AESGCM128,
			Src: netip.MustParseAddr("fd77::1"), Dst: netip.MustParseAddr("fd77::2")},
			EncKeyFile: filepath.Join(dir, "gcm.key"), Policy: &SAPolicy{Port: 1, Dst: netip.MustParsePrefix("fd77::2/128")}},
	}
	// SA 7 has SA 2's SPI: both outbound, with other destinations.
	want[2].SA.SPI = 4097
	if !reflect.DeepEqual(c.SAs, want) {
		t.Errorf("SAs\n%+v\nwant\n%+v", c.SAs, want)
	}
	for _, s := range c.SAs {
		if s.SA.EncKey.Len() != 0 || s.SA.AuthKey.Len() != 0 {
			t.Errorf("sa %d: the Config holds key material", s.Index)
		}
	}
	cfg, err := c.SAs[1].Config()
	if err != nil {
		t.Fatal(err)
	}
	if got := cfg.EncKey.Bytes(); string(got) != string(mustHex(t, cbcKeyHex)) {
		t.Errorf("enc key read back wrong")
	}
	if got := cfg.AuthKey.Bytes(); string(got) != string(mustHex(t, authKeyHex)) {
		t.Errorf("auth key (written over two lines) read back wrong")
	}
	var reg esp.Registry
	for _, s := range c.SAs {
		cfg, err := s.Config()
		if err != nil {
			t.Fatal(err)
		}
		if _, err := reg.AddAt(s.Index, cfg); err != nil {
			t.Errorf("sa %d: %v", s.Index, err)
		}
	}

	// A key file others may read is a warning.
	if err := os.Chmod(filepath.Join(dir, "gcm.key"), 0o644); err != nil {
		t.Fatal(err)
	}
	c, err = LoadFile(writeIn(t, dir, saFile))
	if err != nil {
		t.Fatal(err)
	}
	if len(c.Warnings) != 2 || !strings.Contains(c.Warnings[0], "gcm.key may be read by others than its owner (mode 0644): chmod 600 it") {
		t.Errorf("warnings %q: want one per mention of gcm.key, mode 0644", c.Warnings)
	}
	// A key file changed since loading: Config reads what it holds now.
	if err := os.Remove(filepath.Join(dir, "gcm.key")); err != nil {
		t.Fatal(err)
	}
	if _, err := c.SAs[0].Config(); err == nil || !strings.Contains(err.Error(), "sa 2: enc_key_file "+dir+"/gcm.key: cannot read: no such file") {
		t.Errorf("a vanished key file: %v", err)
	}
}

func mustHex(t *testing.T, s string) []byte {
	k, err := esp.ParseKey(s)
	if err != nil {
		t.Fatal(err)
	}
	return k.Bytes()
}

// TestConfigSAsRoundTrip: --print-config prints the SAs with their key
// files, never a key, and the printed file reloads to the same Config.
func TestConfigSAsRoundTrip(t *testing.T) {
	dir := keyFiles(t)
	printRoundTrip(t, dir, saFile, []string{"  - index: 2\n    name: to-b\n    spi: 0x1001\n", "    enc_key_file: " + dir + "/gcm.key\n",
		"    policy: {port: 33, dst: 10.77.0.0/24}\n", "    policy: {port: 1, dst: any}\n", "    df: set\n", "    esn: true\n"},
		[]string{gcmKeyHex[2:10], cbcKeyHex[:8], authKeyHex[:8]})
}

// printRoundTrip loads text from a file in dir (with the key files),
// prints it as --print-config does, and checks that the output holds each
// of wants and none of secrets (key material), reloads (from elsewhere:
// key files' paths are absolute) to the same Config, and prints the same
// again.
func printRoundTrip(t *testing.T, dir, text string, wants, secrets []string) {
	t.Helper()
	orig, err := LoadFile(writeIn(t, dir, text))
	if err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	if err := orig.WriteYAML(&out); err != nil {
		t.Fatal(err)
	}
	for _, k := range secrets {
		if strings.Contains(out.String(), k) {
			t.Fatalf("the printed config holds key material:\n%s", out.String())
		}
	}
	for _, w := range wants {
		if !strings.Contains(out.String(), w) {
			t.Errorf("printed config lacks %q:\n%s", w, out.String())
		}
	}
	re, err := LoadFile(writeIn(t, t.TempDir(), out.String()))
	if err != nil {
		t.Fatalf("the printed config does not load: %v\n%s", err, out.String())
	}
	a, b := *orig, *re
	a.ConfigFile, b.ConfigFile = "", ""
	if !reflect.DeepEqual(a, b) {
		t.Errorf("reloaded\n%+v\nwant\n%+v", b, a)
	}
	var again bytes.Buffer
	if err := re.WriteYAML(&again); err != nil {
		t.Fatal(err)
	}
	if again.String() != out.String() {
		t.Errorf("printed twice differs:\n%s\nthen\n%s", out.String(), again.String())
	}
}

// TestConfigSAErrors: each mistake in an SA is reported at its line and
// column with what is allowed, and no message quotes a key.
func TestConfigSAErrors(t *testing.T) {
	dir := keyFiles(t)
	gcm := "spi: 0x100, dir: out, mode: transport, alg: aes128gcm16, enc_key_file: gcm.key"
	cbc := "spi: 0x100, dir: out, mode: transport, alg: aes256-sha256, enc_key_file: " + dir + "/cbc.key, auth_key_file: auth.key"
	cases := []struct{ name, text, want string }{
		{"not a list", "sas: {spi: 1}\n", `offload.yaml:1:6: sas: a mapping is not a list; want a list of SAs`},
		{"empty SA", "sas:\n  - \n", `offload.yaml:2:4: sas[0]: an empty SA; want keys index, name, spi,`},
		{"unknown key", "sas:\n  - {" + gcm + ", sip: 1}\n",
			`sas[0].sip: unknown key; allowed in sas[0]: index, name, spi, dir, mode, alg, enc_key_file, auth_key_file, enc_key, auth_key, src, dst, esn, replay_window, ttl, df, policy; did you mean "spi"?`},
		{"missing alg", "sas:\n  - {spi: 0x100, dir: out, mode: tunnel, enc_key_file: gcm.key}\n",
			`offload.yaml:2:5: sas[0]: an SA needs alg (it has spi, dir, mode, enc_key_file)`},
		{"spi reserved", "sas:\n  - {spi: 255}\n", `sas[0].spi: 255 is out of range; want an integer 256..4294967295`},
		{"spi too big", "sas:\n  - {spi: 0x100000000}\n", `sas[0].spi: 0x100000000 is out of range`},
		{"dir", "sas:\n  - {dir: inbound}\n", `offload.yaml:2:11: sas[0].dir: "inbound" is not an SA direction; allowed: in, out`},
		{"mode", "sas:\n  - {mode: tunel}\n", `sas[0].mode: "tunel" is not an SA mode; allowed: tunnel, transport; did you mean "tunnel"?`},
		{"alg", "sas:\n  - {alg: aes128gcm}\n", `offload.yaml:2:11: sas[0].alg: "aes128gcm" is not an ESP algorithm; allowed: aes128gcm16, aes256gcm16, aes128-sha256, aes256-sha256; did you mean "aes128gcm16"?`},
		{"inline key", "sas:\n  - {enc_key: " + gcmKeyHex + "}\n", `offload.yaml:2:15: sas[0].enc_key: keys are not written in the config file (it is printed and shared): put the key in hex in a file readable by root only and give enc_key_file: PATH`},
		{"inline auth key", "sas:\n  - {auth_key: " + authKeyHex + "}\n", `sas[0].auth_key: keys are not written in the config file`},
		{"missing key file", "sas:\n  - {enc_key_file: nope.key}\n", `offload.yaml:2:20: sas[0].enc_key_file: ` + dir + `/nope.key: cannot read: no such file or directory`},
		{"key file a directory", "sas:\n  - {enc_key_file: /}\n", `sas[0].enc_key_file: /: not a regular file`},
		{"empty key file name", "sas:\n  - {enc_key_file: \"\"}\n", `sas[0].enc_key_file: empty; want the path of a file holding the key in hex`},
		{"key not hex", "sas:\n  - {enc_key_file: bad.key}\n", `sas[0].enc_key_file: ` + dir + `/bad.key: key: a character that is not a hex digit`},
		{"key odd", "sas:\n  - {enc_key_file: odd.key}\n", `odd.key: key: an odd number of hex digits`},
		{"key file empty", "sas:\n  - {enc_key_file: empty.key}\n", `empty.key: empty; want a key in hex`},
		{"GCM key length", "sas:\n  - {spi: 0x100, dir: out, mode: transport, alg: aes256gcm16, enc_key_file: gcm.key}\n",
			`offload.yaml:2:77: sas[0].enc_key_file: the key is 20 bytes; aes256gcm16 takes 36 (a 32-byte key, then the 4-byte salt, as ` + "`ip xfrm state ... aead 'rfc4106(gcm(aes))'`" + ` takes it)`},
		{"CBC key length", "sas:\n  - {spi: 0x100, dir: out, mode: transport, alg: aes128-sha256, enc_key_file: short.key, auth_key_file: auth.key}\n",
			`sas[0].enc_key_file: the key is 2 bytes; aes128-sha256 takes 16`},
		{"CBC without auth", "sas:\n  - {spi: 0x100, dir: out, mode: transport, alg: aes256-sha256, enc_key_file: cbc.key}\n",
			`offload.yaml:2:5: sas[0]: aes256-sha256 needs auth_key_file (an HMAC-SHA-256 key of 32 bytes)`},
		{"GCM with auth", "sas:\n  - {" + gcm + ", auth_key_file: auth.key}\n",
			`sas[0].auth_key_file: aes128gcm16 authenticates with its encryption key; give no auth key`},
		{"auth length", "sas:\n  - {" + strings.Replace(cbc, "auth.key", "short.key", 1) + "}\n",
			`sas[0].auth_key_file: the key is 2 bytes; HMAC-SHA-256-128 takes 32`},
		{"tunnel without endpoints", "sas:\n  - {" + strings.Replace(gcm, "transport", "tunnel", 1) + "}\n",
			`offload.yaml:2:5: sas[0]: invalid SA: spi 0x100: tunnel mode needs src and dst`},
		{"mixed families", "sas:\n  - {" + gcm + ", src: 10.0.0.1, dst: \"fd00::1\"}\n",
			`sas[0]: invalid SA: spi 0x100: src 10.0.0.1 and dst fd00::1 are of different IP versions`},
		{"address", "sas:\n  - {src: 10.0.0.256}\n", `sas[0].src: "10.0.0.256" is not an IPv4 or IPv6 address`},
		{"zone", "sas:\n  - {dst: \"fe80::1%eth0\"}\n", `sas[0].dst: "fe80::1%eth0" is not an IPv4 or IPv6 address`},
		{"window", "sas:\n  - {replay_window: 4097}\n", `sas[0].replay_window: 4097 is out of range; want an integer 1..4096`},
		{"ttl", "sas:\n  - {ttl: 0}\n", `sas[0].ttl: 0 is out of range; want an integer 1..255`},
		{"df", "sas:\n  - {df: copy-inner}\n", `sas[0].df: "copy-inner" is not a DF policy; allowed: copy, set, clear`},
		{"esn", "sas:\n  - {esn: yes please}\n", `sas[0].esn: the string "yes please" is not a boolean`},
		{"index", "sas:\n  - {index: 4096}\n", `sas[0].index: 4096 is out of range; want an integer 0..4095`},
		{"duplicate index", "sas:\n  - {index: 1, " + gcm + "}\n  - {" + strings.Replace(gcm, "0x100", "0x101", 1) + "}\n",
			`offload.yaml:3:5: sas[1]: index 1 is also the SA at line 2`},
		{"duplicate SPI", "sas:\n  - {" + gcm + "}\n  - {" + gcm + "}\n",
			`offload.yaml:3:5: sas[1]: invalid SA: spi 0x100: sa 0 spi 0x00000100 out transport aes128gcm16 has the same SPI, direction and destination`},
		{"policy on inbound", "sas:\n  - {" + strings.Replace(gcm, "out", "in", 1) + ", policy: {port: 0}}\n",
			`sas[0].policy: a policy sends packets through an outbound SA; this one is dir: in`},
		{"policy without port", "sas:\n  - {" + gcm + ", policy: {dst: 10.0.0.0/8}}\n",
			`sas[0].policy: a policy needs port (the egress port): {port: N, dst: PREFIX|any}`},
		{"policy port", "sas:\n  - {policy: {port: 64}}\n", `sas[0].policy.port: 64 is out of range; want an integer 0..63`},
		{"policy prefix", "sas:\n  - {policy: {port: 1, dst: 10.0.0.0/33}}\n", `sas[0].policy.dst: "10.0.0.0/33" is not an address prefix; want e.g. 10.0.0.0/24, fd00::/64 or one address`},
		{"policy host bits", "sas:\n  - {policy: {port: 1, dst: 10.0.0.1/24}}\n", `sas[0].policy.dst: "10.0.0.1/24" has bits set past its length; did you mean 10.0.0.0/24?`},
		{"policy family", "sas:\n  - {" + gcm + ", src: 10.0.0.1, dst: 10.0.0.2, policy: {port: 1, dst: \"fd00::/8\"}}\n",
			`sas[0].policy: dst fd00::/8: this transport-mode SA carries IPv4 only`},
		{"policy unknown key", "sas:\n  - {policy: {port: 1, sa: 3}}\n", `sas[0].policy.sa: unknown key; allowed in sas[0].policy: port, dst`},
	}
	for _, c := range cases {
		_, err := Parse([]string{"--", "--config", writeIn(t, dir, c.text)})
		if err == nil {
			t.Errorf("%s: accepted", c.name)
			continue
		}
		if !errors.Is(err, ErrConfigFile) || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s:\n got %v\nwant ...%s...", c.name, err, c.want)
		}
		for _, k := range []string{gcmKeyHex[2:10], "4c80cdef", cbcKeyHex[:8], authKeyHex[:8]} {
			if strings.Contains(err.Error(), k) {
				t.Errorf("%s: the error quotes key material: %v", c.name, err)
			}
		}
	}
}
