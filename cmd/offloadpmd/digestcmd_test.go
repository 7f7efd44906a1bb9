package main

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/offloadpmd/offloadpmd/offload"
	"github.com/offloadpmd/offloadpmd/offload/digest"
	"github.com/offloadpmd/offloadpmd/pipeline"
)

// TestDigestCommands: digest set, show and clear change the configuration
// the data path reads, say what they did and what the port's table does
// not enable yet, refuse what the engine cannot take, and never show the
// key.
func TestDigestCommands(t *testing.T) {
	a, out := saApp()
	tab, err := offload.NewTable(0, "net_ring", 0, 0).Apply(offload.Change{EnableTx: offload.TxDigest})
	if err != nil {
		t.Fatal(err)
	}
	if err := a.tables.Publish(tab); err != nil {
		t.Fatal(err)
	}
	execLines(t, a,
		"digest show 0",
		"digest set 0 hmac-sha256 key "+testAuthKey+" len 16 dynfield",
		"digest show 0",
		"digest set 1 crc32c",
		"digest show 1",
	)
	noKeys(t, "output", out.String())
	for _, w := range []string{
		"Port 0: no digest (digest set 0 hmac-sha256|sha256|crc32c ...)",
		"Port 0: digest hmac-sha256/16 dynfield key [redacted] (32 bytes)",
		"Port 0 does not verify received digests (port config 0 rx_offload digest_verify on)",
		"  Key:               [redacted] (32 bytes)",
		"  Received digests:  in the mbuf field opmd_dynfield_digest",
		"  Requests:          enabled",
		"  Verification:      off (port config 0 rx_offload digest_verify on)",
		"Port 1: digest crc32c/4 append",
		"Port 1 neither takes digest requests nor verifies digests yet",
		"  Received digests:  appended after the L4 payload (checked and stripped)",
	} {
		if !strings.Contains(out.String(), w) {
			t.Errorf("output lacks %q:\n%s", w, out.String())
		}
	}
	c := a.off.Digests.Load(0)
	if c == nil || c.Alg != digest.HMACSHA256 || c.Len != 16 || c.Mode != pipeline.DigestModeDynfield || c.Key.Len() != 32 {
		t.Fatalf("port 0's digest: %v", c)
	}
	out.Reset()
	execLines(t, a,
		"digest set 0 sha256 key "+testAuthKey,
		"digest set 0 hmac-sha256",
		"digest set 0 crc32c len 16",
		"digest set 0 sha256 dynfield",
		"digest set 0 sha256 append dynfield",
	)
	noKeys(t, "errors", out.String())
	for _, w := range []string{
		"digest set: digest sha256 takes no key (use hmac-sha256)",
		"digest set: digest hmac-sha256: no key",
		"digest set: digest crc32c: size 16: from 4 to 4 bytes",
		"digest set: digest sha256 of 32 bytes: the dynamic field holds 24; give a length of 16 to 24, or append",
		"digest set: received digests are appended or in the dynfield, not both",
	} {
		if !strings.Contains(out.String(), w) {
			t.Errorf("output lacks %q:\n%s", w, out.String())
		}
	}
	if a.off.Digests.Load(0) != c {
		t.Error("a refused digest set changed the port's digest")
	}
	execLines(t, a, "digest clear 0")
	if a.off.Digests.Load(0) != nil {
		t.Error("digest clear left the digest")
	}
	line := "digest set 0 hmac-sha256 key " + testAuthKey + " len 16"
	if got, want := redactLine(line), "digest set 0 hmac-sha256 key [redacted] len 16"; got != want {
		t.Errorf("redactLine(%q) = %q, want %q", line, got, want)
	}
}

// TestDigestCompletion: Tab completes the digest commands' words,
// algorithms and the options not given yet.
func TestDigestCompletion(t *testing.T) {
	a, _ := saApp()
	checkCompletions(t, a, []completionCase{
		{"digest ", []string{"set ", "show ", "clear "}, nil},
		{"digest set 0 ", []string{"hmac-sha256 ", "sha256 ", "crc32c "}, nil},
		{"digest set 0 sha256 ", []string{"key ", "len ", "append ", "dynfield "}, nil},
		{"digest set 0 sha256 len 16 ", []string{"key ", "append "}, []string{"len "}},
	})
}

// TestConfigFileDigest: a port's digest from the config file is installed
// at setup (digest show sees it, with the port's offloads), its key
// never shown.
func TestConfigFileDigest(t *testing.T) {
	needRoot(t)
	prefix := fmt.Sprintf("opmd_dgtest_%d", os.Getpid())
	t.Cleanup(func() { os.RemoveAll("/var/run/dpdk/" + prefix) })
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "digest.key"), []byte(testAuthKey+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	name := filepath.Join(dir, "digest.yaml")
	if err := os.WriteFile(name, []byte(`
eal: {memory_mb: 512, file_prefix: `+prefix+`, args: [--log-level, "lib.eal:error"]}
ports:
  - devargs: net_null0
    offloads: {tx: [digest], rx: [digest_verify]}
    digest: {alg: hmac-sha256, key_file: digest.key, len: 20, mode: dynfield}
  - devargs: net_null1
`), 0o644); err != nil {
		t.Fatal(err)
	}
	r := runBin(t, "digest show 0\ndigest show 1\nquit\n", 60*time.Second, "--", "--config", name, "-i")
	noPanic(t, r)
	if r.code != 0 {
		t.Fatalf("exit %d\nstdout:\n%s\nstderr:\n%s", r.code, r.stdout, r.stderr)
	}
	noKeys(t, "output", r.stdout+r.stderr)
	for _, w := range []string{"Port 0 digest\n", "  Algorithm:         hmac-sha256\n", "  Length:            20 bytes\n",
		"  Key:               [redacted] (32 bytes)\n", "  Received digests:  in the mbuf field opmd_dynfield_digest\n",
		"  Requests:          enabled\n", "  Verification:      enabled\n", "Port 1: no digest"} {
		if !strings.Contains(r.stdout, w) {
			t.Errorf("output lacks %q:\n%s", w, r.stdout)
		}
	}
}
