package main

import (
	"bytes"
	"crypto/aes"
	"crypto/cipher"
	"fmt"
	"strings"
	"testing"

	"github.com/offloadpmd/offloadpmd/pmd/pmdtest"
)

func TestMain(m *testing.M) { pmdtest.Main(m, "cryptobench") }

func TestSplitArgs(t *testing.T) {
	for _, tc := range []struct {
		argv string
		ok   bool
		want string // in the error, or the sizes
	}{
		{"-l 0-1 -- --devtype crypto_aesni_gcm --alg gcm", true, "[64 512 1500]"},
		{"-- --devtype crypto_aesni_mb --alg cbc", true, "[64 512 1504]"},
		{"-- --devtype crypto_aesni_mb --alg gcm --buffer-sz 1500", true, "[1500]"},
		{"-- --devtype crypto_aesni_mb --alg cbc --buffer-sz 64,1500", false, "multiples of 16"},
		{"-- --devtype crypto_openssl --alg gcm --buffer-sz 64,x", false, `"x"`},
		{"-- --devtype crypto_openssl --alg gcm --buffer-sz 4000", false, "16 to 2032"},
		{"-- --devtype net_null --alg gcm", false, "crypto PMD"},
		{"-- --devtype crypto_aesni_gcm --alg ccm", false, "want gcm or cbc"},
		{"-- --devtype crypto_aesni_gcm --alg gcm --burst-sz 0", false, "--burst-sz 0"},
		{"-- --devtype crypto_aesni_gcm --alg gcm --mbufs 8", false, "--mbufs 8"},
		{"-- --devtype crypto_aesni_gcm --alg gcm --key-sz 17", false, "--key-sz"},
		{"--devtype crypto_aesni_gcm --alg gcm", false, `missing "--"`},
		{"-- --devtype crypto_aesni_gcm --alg gcm extra", false, "unexpected"},
	} {
		var errs bytes.Buffer
		_, a, err := splitArgs(strings.Fields(tc.argv), &errs)
		if (err == nil) != tc.ok {
			t.Errorf("%q: error %v, want ok=%v", tc.argv, err, tc.ok)
			continue
		}
		got := fmt.Sprint(a.sizes)
		if err != nil {
			got = err.Error()
		}
		if !strings.Contains(got, tc.want) {
			t.Errorf("%q: %q, want it to contain %q", tc.argv, got, tc.want)
		}
	}
}

// TestBenchRun runs the loop on a worker lcore for one burst per size and
// checks the figures, (GCM) that each buffer was encrypted once with its
// own IV, against Go's crypto/cipher, and that the loop allocates nothing.
func TestBenchRun(t *testing.T) {
	eal := pmdtest.Need(t)
	for _, alg := range []string{"gcm", "cbc"} {
		a := args{devtype: "crypto_aesni_mb", alg: alg, keySz: 16, ops: 32, burst: 32, mbufs: 32, sizes: []int{64, 512}}
		b, err := newBench(a)
		if err != nil {
			t.Fatal(err)
		}
		var res []result
		w := eal.Workers()[0]
		if err := eal.Launch(w, func(uint) error { res, err = b.runAll(); return err }); err != nil {
			t.Fatal(err)
		}
		if err := eal.Wait(w); err != nil {
			t.Fatal(err)
		}
		if len(res) != 2 {
			t.Fatalf("%s: %d results, want 2", alg, len(res))
		}
		for _, r := range res {
			if r.ops != 32 || !(r.secs > 0) {
				t.Errorf("%s: %+v: want 32 ops", alg, r)
			}
			row := r.csv(w, 32)
			if f := strings.Split(row, ","); len(f) != 11 || f[1] != fmt.Sprint(r.size) || f[3] != "32" {
				t.Errorf("csv row %q", row)
			}
		}
		if alg == "gcm" { // the 512-byte run left its buffers in the mbufs
			cfg := sessionConfig(a)
			blk, _ := aes.NewCipher(cfg.Key)
			g, _ := cipher.NewGCM(blk)
			aad := make([]byte, 16)
			for k := range aad {
				aad[k] = byte(k)
			}
			for i, m := range b.mbufs {
				pt := make([]byte, 512)
				for k := range pt {
					pt[k] = byte(i + k)
				}
				nonce := make([]byte, 12)
				nonce[11] = byte(i + 1)
				if want := g.Seal(nil, nonce, pt, aad); !bytes.Equal(m.Data(), want) {
					t.Fatalf("mbuf %d: got %x\nwant %x", i, m.Data(), want)
				}
			}
		}
		// r.mallocs is process-wide; this counts the loop's own (on the
		// test's goroutine: the burst works from any thread).
		if n := testing.AllocsPerRun(20, func() {
			if _, err := b.run(512, 320); err != nil {
				panic(err)
			}
		}); n != 0 {
			t.Errorf("%s: %.1f Go allocations per run of 10 bursts, want 0", alg, n)
		}
		if n := b.dev.OpsInUse(); n != 0 {
			t.Errorf("%d ops out of the pool", n)
		}
		b.close()
	}
}
