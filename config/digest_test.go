package config

import (
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/offloadpmd/offloadpmd/offload/digest"
)

const digestFile = `
ports:
  - devargs: net_ring0
    offloads: {tx: [digest], rx: [digest_verify]}
    digest: {alg: hmac-sha256, key_file: auth.key, len: 16, mode: dynfield}
  - devargs: net_null0
  - tap: {name: opmd7}
    digest:
      alg: crc32c
`

// TestConfigDigests: ports[i].digest gives the port's digest without key
// material, whose Config reads the key from its file.
func TestConfigDigests(t *testing.T) {
	dir := keyFiles(t)
	c, err := LoadFile(writeIn(t, dir, digestFile))
	if err != nil {
		t.Fatal(err)
	}
	want := map[uint16]DigestSpec{
		0:            {Device: "net_ring0", Alg: digest.HMACSHA256, KeyFile: filepath.Join(dir, "auth.key"), Len: 16, Mode: "dynfield"},
		FirstTapPort: {Device: "opmd7", Alg: digest.CRC32C, Mode: "append"},
	}
	if !reflect.DeepEqual(c.PortDigests, want) {
		t.Fatalf("PortDigests %+v, want %+v", c.PortDigests, want)
	}
	s := c.PortDigests[0]
	dc, err := s.Config()
	if err != nil {
		t.Fatal(err)
	}
	if dc.Alg != digest.HMACSHA256 || dc.Size != 16 || dc.Key.Len() != 32 {
		t.Errorf("Config: %+v", dc)
	}
	if _, err := digest.New(dc); err != nil {
		t.Error(err)
	}
}

// TestConfigDigestsRoundTrip: --print-config prints the digests with
// their key files, never a key, and the printed file reloads to the same
// Config.
func TestConfigDigestsRoundTrip(t *testing.T) {
	dir := keyFiles(t)
	printRoundTrip(t, dir, digestFile, []string{"    digest: {alg: hmac-sha256, key_file: " + dir + "/auth.key, len: 16, mode: dynfield}\n",
		"    digest: {alg: crc32c, mode: append}\n"}, []string{authKeyHex[:8]})
}

// TestConfigDigestErrors: each mistake in a port's digest is reported at
// its line and column with what is allowed, and no message quotes a key.
func TestConfigDigestErrors(t *testing.T) {
	dir := keyFiles(t)
	if err := os.WriteFile(filepath.Join(dir, "open.key"), []byte(authKeyHex), 0o644); err != nil {
		t.Fatal(err)
	}
	port := "ports:\n  - devargs: net_null0\n    digest: "
	cases := []struct{ name, text, want string }{
		{"not a mapping", port + "hmac\n", `offload.yaml:3:13: ports[0].digest: ports[0].digest is the string "hmac"; want a mapping with keys alg, key_file, key, len, mode`},
		{"no alg", port + "{len: 16}\n", `offload.yaml:3:13: ports[0].digest: a digest needs alg (hmac-sha256, sha256, crc32c); keys: alg, key_file, len, mode`},
		{"alg", port + "{alg: hmac-sha265}\n", `offload.yaml:3:19: ports[0].digest.alg: "hmac-sha265" is not a digest; allowed: hmac-sha256, sha256, crc32c; did you mean "hmac-sha256"?`},
		{"unknown key", port + "{alg: sha256, size: 16}\n", `ports[0].digest.size: unknown key; allowed in ports[0].digest: alg, key_file, key, len, mode`},
		{"mode", port + "{alg: sha256, mode: beside}\n", `ports[0].digest.mode: "beside" is not a digest mode; allowed: append, dynfield`},
		{"len", port + "{alg: sha256, len: 33}\n", `ports[0].digest.len: 33 is out of range; want an integer 0..32`},
		{"len for the digest", port + "{alg: sha256, len: 8}\n", `offload.yaml:3:13: ports[0].digest: digest sha256: size 8: from 16 to 32 bytes`},
		{"crc len", port + "{alg: crc32c, len: 16}\n", `ports[0].digest: digest crc32c: size 16: from 4 to 4 bytes`},
		{"hmac without key", port + "{alg: hmac-sha256}\n", `offload.yaml:3:13: ports[0].digest: digest hmac-sha256: no key`},
		{"key for sha256", port + "{alg: sha256, key_file: auth.key}\n", `offload.yaml:3:37: ports[0].digest.key_file: digest sha256 takes no key (use hmac-sha256)`},
		{"inline key", port + "{alg: hmac-sha256, key: " + authKeyHex + "}\n", `ports[0].digest.key: keys are not written in the config file (it is printed and shared): put the key in hex in a file readable by root only and give key_file: PATH`},
		{"missing key file", port + "{alg: hmac-sha256, key_file: nope.key}\n", `ports[0].digest.key_file: ` + dir + `/nope.key: cannot read: no such file or directory`},
		{"key not hex", port + "{alg: hmac-sha256, key_file: bad.key}\n", `bad.key: key: a character that is not a hex digit`},
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
		if strings.Contains(err.Error(), authKeyHex[:8]) {
			t.Errorf("%s: the error quotes key material: %v", c.name, err)
		}
	}
	// A key file others may read: accepted, with a warning.
	c, err := Parse([]string{"--", "--config", writeIn(t, dir, port+"{alg: hmac-sha256, key_file: open.key}\n")})
	if err != nil {
		t.Fatal(err)
	}
	if len(c.Warnings) != 1 || !strings.Contains(c.Warnings[0], "chmod 600") {
		t.Errorf("warnings %q", c.Warnings)
	}
}
