package pmd_test

import (
	"bytes"
	"math/rand/v2"
	"testing"

	"github.com/offloadpmd/offloadpmd/pmd"
)

// cpuDevice opens driver's device for a RunCPU test, or skips when the
// device lacks the CPU crypto API.
func cpuDevice(t *testing.T, driver string) *pmd.CryptoDev {
	t.Helper()
	d := openCrypto(t, driver)
	if !d.CPUCrypto() {
		t.Skipf("%s does not offer the CPU crypto API (features %v)", driver, d.Info().FeatureNames)
	}
	return d
}

// TestCryptoRunCPU is TestCryptoRoundTrip through RunCPU on the ipsec_mb
// devices: 32 ESP-shaped packets of 64, 512 and 1500 (CBC: 1504) bytes
// checked against Go's crypto, decrypted back, a tampered ICV failing only
// its own packet.
func TestCryptoRunCPU(t *testing.T) {
	const n = 32
	for _, drv := range []string{"crypto_aesni_gcm", "crypto_aesni_mb"} {
		t.Run(drv, func(t *testing.T) {
			d := cpuDevice(t, drv)
			for _, c := range cryptoCases {
				t.Run(c.name, func(t *testing.T) {
					if c.algo == pmd.AESCBCHMACSHA256 && drv == "crypto_aesni_gcm" {
						t.Skip("aesni_gcm does no AES-CBC")
					}
					rng := rand.NewChaCha8([32]byte{byte(len(c.name)), byte(c.key), byte(c.aad), 1})
					f := newCryptoFixture(t, d, c, n, rng)
					f.roundTrip(t, n, f.b.RunCPU, 9, 2, 0x04)
					if u := d.OpsInUse(); u != 0 {
						t.Errorf("%d ops out of their pool: RunCPU takes none", u)
					}
				})
			}
		})
	}
}

// TestCryptoRunCPUMixed runs one burst whose jobs change session and
// layout from packet to packet (two keys, three sizes: runs of one job
// each), more jobs than one device call takes (the C side's chunk of 64),
// and checks each against Run's result on a copy.
func TestCryptoRunCPUMixed(t *testing.T) {
	const n = 150
	d := cpuDevice(t, "crypto_aesni_mb")
	rng := rand.NewChaCha8([32]byte{3})
	// Two fixtures (another key, another session) fill one burst, a's:
	// b gives its queue pair's burst up first.
	b := newCryptoFixture(t, d, cryptoCases[4], n, rng) // cbc256
	b.b.Close()
	a := newCryptoFixture(t, d, cryptoCases[3], n, rng) // cbc128
	b.b = a.b
	for i := range n {
		if i%3 == 0 {
			b.fill(i, b.enc)
			continue
		}
		a.fill(i, a.enc)
	}
	if ok := a.b.RunCPU(n); ok != n {
		t.Fatalf("%d of %d ok; first status %v", ok, n, a.b.Jobs()[0].Status())
	}
	for i := range n {
		f := a
		if i%3 == 0 {
			f = b
		}
		if want := f.want(t, i); !bytes.Equal(f.pkts[i].Data(), want) {
			t.Fatalf("packet %d (%d bytes, fixture %s) differs from Go's crypto", i, f.lay[i].size, f.c.name)
		}
	}
}

// TestCryptoRunCPUBadJobs: malformed jobs fail alone as bad-job through
// RunCPU too, and a region outside the first segment is one of them.
func TestCryptoRunCPUBadJobs(t *testing.T) {
	d := cpuDevice(t, "crypto_aesni_mb")
	rng := rand.NewChaCha8([32]byte{11})
	f := newCryptoFixture(t, d, cryptoCases[3], 8, rng)
	breakers := []struct {
		name  string
		spoil func(j *pmd.CryptoJob)
	}{
		{"data past the end", func(j *pmd.CryptoJob) { j.DataLen = j.Pkt.PktLen() }},
		{"offset overflow", func(j *pmd.CryptoJob) { j.DataOff = ^uint32(0) - 2 }},
		{"auth past the end", func(j *pmd.CryptoJob) { j.AuthLen = j.Pkt.PktLen() }},
		{"icv past the end", func(j *pmd.CryptoJob) { j.DigestOff = j.Pkt.PktLen() - 8 }},
		{"no packet", func(j *pmd.CryptoJob) { j.Pkt = nil }},
		{"no session", func(j *pmd.CryptoJob) { j.SetSession(&pmd.CryptoSession{}) }},
	}
	for _, br := range breakers {
		for i := range 8 {
			f.fill(i, f.enc)
		}
		br.spoil(&f.b.Jobs()[3])
		if ok := f.b.RunCPU(8); ok != 7 {
			t.Errorf("%s: %d of 8 ok, want 7", br.name, ok)
		}
		if st := f.b.Jobs()[3].Status(); st != pmd.CryptoBadJob {
			t.Errorf("%s: status %v, want bad-job", br.name, st)
		}
	}
	if c := f.b.Counters(); c.BadJobs != uint64(len(breakers)) || c.Errors != 0 {
		t.Errorf("counters %+v: want %d bad jobs, no errors", c, len(breakers))
	}
	if ok := f.b.RunCPU(0); ok != 0 {
		t.Errorf("empty run: %d ok", ok)
	}
}

// TestCryptoRunCPULong: one session's burst longer than one device call
// (the C side's chunk of 64) is done whole and right.
func TestCryptoRunCPULong(t *testing.T) {
	const n = 150
	d := cpuDevice(t, "crypto_aesni_gcm")
	f := newCryptoFixture(t, d, cryptoCases[0], n, rand.NewChaCha8([32]byte{5}))
	for i := range n {
		f.fill(i, f.enc)
	}
	if ok := f.b.RunCPU(n); ok != n {
		t.Fatalf("%d of %d ok", ok, n)
	}
	for i, m := range f.pkts {
		if want := f.want(t, i); !bytes.Equal(m.Data(), want) {
			t.Fatalf("packet %d (%d bytes) differs from Go's crypto", i, f.lay[i].size)
		}
	}
}
