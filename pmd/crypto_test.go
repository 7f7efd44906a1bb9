package pmd_test

import (
	"bytes"
	"crypto/aes"
	"crypto/cipher"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/offloadpmd/offloadpmd/pmd"
	"github.com/offloadpmd/offloadpmd/pmd/pmdtest"
)

// cryptoDrivers are the software crypto PMDs Debian's DPDK 22.11 ships
// that issue 7 uses.
var cryptoDrivers = []string{"crypto_aesni_gcm", "crypto_aesni_mb", "crypto_openssl"}

// openCrypto opens driver's device for one test (closed at cleanup, which
// also checks every op went back to its pool). It skips only where the
// driver's plugin is not loaded.
func openCrypto(t *testing.T, driver string) *pmd.CryptoDev {
	t.Helper()
	pmdtest.Need(t)
	if !pmd.CryptoDriverLoaded(driver) {
		t.Skipf("crypto driver %s not loaded: its plugin (librte_crypto_ipsec_mb or librte_crypto_openssl in DPDK's pmds-23.0 directory) is not installed", driver)
	}
	d, err := pmd.OpenCryptoVdev(pmd.CryptoDevConfig{Name: driver + "0", Socket: -1})
	if err != nil {
		t.Fatalf("open %s: %v", driver, err)
	}
	t.Cleanup(func() {
		if n := d.OpsInUse(); n != 0 {
			t.Errorf("%s: %d crypto ops still out of their pool", driver, n)
		}
		if err := d.Close(); err != nil {
			t.Errorf("close %s: %v", driver, err)
		}
	})
	return d
}

// session creates a session, or skips the (sub)test when the device does
// not offer the algorithm.
func session(t *testing.T, d *pmd.CryptoDev, cfg pmd.SessionConfig) *pmd.CryptoSession {
	t.Helper()
	s, err := d.NewSession(cfg)
	if errors.Is(err, pmd.ErrNotSupported) {
		t.Skipf("%s: %v", d.Info().Driver, err)
	}
	if err != nil {
		t.Fatalf("%v %v session: %v", cfg.Algo, cfg.Dir, err)
	}
	t.Cleanup(s.Close)
	return s
}

func unhex(t testing.TB, s string) []byte {
	t.Helper()
	b, err := hex.DecodeString(s)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// packet allocates an mbuf holding data and frees it at cleanup.
func packet(t *testing.T, pool *pmd.Mempool, data []byte) *pmd.Mbuf {
	t.Helper()
	m := pool.Alloc()
	if m == nil {
		t.Fatal("mbuf pool empty")
	}
	t.Cleanup(m.Free)
	if !m.SetData(data) {
		t.Fatalf("%d bytes do not fit an mbuf", len(data))
	}
	return m
}

func TestCryptoDevInfo(t *testing.T) {
	for _, drv := range cryptoDrivers {
		t.Run(drv, func(t *testing.T) {
			d := openCrypto(t, drv)
			info := d.Info()
			if info.Driver != drv {
				t.Errorf("driver %q, want %q", info.Driver, drv)
			}
			if info.MaxQueuePairs < 1 || len(info.Caps) == 0 {
				t.Fatalf("info %+v: no queue pairs or no capabilities", info)
			}
			for _, c := range info.Caps {
				t.Logf("%s: %v", drv, c)
			}
			t.Logf("%s: features %s", drv, strings.Join(info.FeatureNames, ", "))
			gcm, ok := info.Cap(pmd.XformAEAD, "aes-gcm")
			if !ok {
				t.Fatalf("%s offers no aes-gcm", drv)
			}
			for _, k := range []int{16, 32} {
				if !gcm.Key.Has(k) {
					t.Errorf("aes-gcm key sizes %v lack %d", gcm.Key, k)
				}
			}
			if !gcm.IV.Has(12) || !gcm.Digest.Has(16) {
				t.Errorf("aes-gcm iv %v digest %v: want 12 and 16", gcm.IV, gcm.Digest)
			}
			for _, aad := range []int{8, 12} {
				if err := d.Supports(pmd.SessionConfig{Algo: pmd.AESGCM, Key: make([]byte, 16), AADLen: aad}); err != nil {
					t.Errorf("AES-GCM-128 with %d bytes of AAD: %v", aad, err)
				}
			}
			cbc := pmd.SessionConfig{Algo: pmd.AESCBCHMACSHA256, Key: make([]byte, 16), AuthKey: make([]byte, 32)}
			err := d.Supports(cbc)
			if drv == "crypto_aesni_gcm" {
				if !errors.Is(err, pmd.ErrNotSupported) {
					t.Errorf("aesni_gcm and AES-CBC: %v, want ErrNotSupported", err)
				} else {
					t.Logf("as expected: %v", err)
				}
			} else if err != nil {
				t.Errorf("AES-CBC + HMAC-SHA-256: %v", err)
			}
			// Wrong sizes are refused before the device.
			bad := pmd.SessionConfig{Algo: pmd.AESGCM, Key: make([]byte, 15)}
			if _, err := d.NewSession(bad); !errors.Is(err, pmd.ErrInvalid) {
				t.Errorf("15-byte key: %v, want ErrInvalid", err)
			}
			if _, err := d.NewBurst(d.QueuePairs()); !errors.Is(err, pmd.ErrInvalid) {
				t.Errorf("burst on queue pair %d of %d: %v, want ErrInvalid", d.QueuePairs(), d.QueuePairs(), err)
			}
			b, err := d.NewBurst(0)
			if err != nil {
				t.Fatal(err)
			}
			defer b.Close()
			if _, err := d.NewBurst(0); !errors.Is(err, pmd.ErrBusy) {
				t.Errorf("second burst on queue pair 0: %v, want ErrBusy", err)
			}
		})
	}
	if _, err := pmd.OpenCryptoVdev(pmd.CryptoDevConfig{Name: "net_null0"}); !errors.Is(err, pmd.ErrInvalid) {
		t.Errorf("a non-crypto name: %v, want ErrInvalid", err)
	}
}

// gcmVectors are test cases 3, 4, 15 and 16 of the GCM specification
// (McGrew and Viega, "The Galois/Counter Mode of Operation", appendix B):
// AES-128 and AES-256, a 96-bit IV, without and with 20 bytes of AAD.
var gcmVectors = []struct {
	name, key, iv, pt, aad, ct, tag string
}{
	{"tc3", "feffe9928665731c6d6a8f9467308308", "cafebabefacedbaddecaf888",
		"d9313225f88406e5a55909c5aff5269a86a7a9531534f7da2e4c303d8a318a721c3c0c95956809532fcf0e2449a6b525b16aedf5aa0de657ba637b391aafd255", "",
		"42831ec2217774244b7221b784d0d49ce3aa212f2c02a4e035c17e2329aca12e21d514b25466931c7d8f6a5aac84aa051ba30b396a0aac973d58e091473f5985",
		"4d5c2af327cd64a62cf35abd2ba6fab4"},
	{"tc4", "feffe9928665731c6d6a8f9467308308", "cafebabefacedbaddecaf888",
		"d9313225f88406e5a55909c5aff5269a86a7a9531534f7da2e4c303d8a318a721c3c0c95956809532fcf0e2449a6b525b16aedf5aa0de657ba637b39",
		"feedfacedeadbeeffeedfacedeadbeefabaddad2",
		"42831ec2217774244b7221b784d0d49ce3aa212f2c02a4e035c17e2329aca12e21d514b25466931c7d8f6a5aac84aa051ba30b396a0aac973d58e091",
		"5bc94fbc3221a5db94fae95ae7121a47"},
	{"tc15", "feffe9928665731c6d6a8f9467308308feffe9928665731c6d6a8f9467308308", "cafebabefacedbaddecaf888",
		"d9313225f88406e5a55909c5aff5269a86a7a9531534f7da2e4c303d8a318a721c3c0c95956809532fcf0e2449a6b525b16aedf5aa0de657ba637b391aafd255", "",
		"522dc1f099567d07f47f37a32a84427d643a8cdcbfe5c0c97598a2bd2555d1aa8cb08e48590dbb3da7b08b1056828838c5f61e6393ba7a0abcc9f662898015ad",
		"b094dac5d93471bdec1a502270e3cc6c"},
	{"tc16", "feffe9928665731c6d6a8f9467308308feffe9928665731c6d6a8f9467308308", "cafebabefacedbaddecaf888",
		"d9313225f88406e5a55909c5aff5269a86a7a9531534f7da2e4c303d8a318a721c3c0c95956809532fcf0e2449a6b525b16aedf5aa0de657ba637b39",
		"feedfacedeadbeeffeedfacedeadbeefabaddad2",
		"522dc1f099567d07f47f37a32a84427d643a8cdcbfe5c0c97598a2bd2555d1aa8cb08e48590dbb3da7b08b1056828838c5f61e6393ba7a0abcc9f662",
		"76fc6ece0f4e1768cddf8853bb2d551b"},
}

// TestCryptoGCMKnownAnswers encrypts the GCM spec's vectors in an mbuf
// (after 16 bytes of header, the tag after the text) on each PMD, decrypts
// them back, and checks that a tampered tag fails authentication.
func TestCryptoGCMKnownAnswers(t *testing.T) {
	const hdr = 16
	for _, drv := range cryptoDrivers {
		t.Run(drv, func(t *testing.T) {
			d := openCrypto(t, drv)
			pool := pmdtest.Pool(t, 64, 0)
			b, err := d.NewBurst(0)
			if err != nil {
				t.Fatal(err)
			}
			defer b.Close()
			for _, v := range gcmVectors {
				t.Run(v.name, func(t *testing.T) {
					key, pt, aad := unhex(t, v.key), unhex(t, v.pt), unhex(t, v.aad)
					want := append(unhex(t, v.ct), unhex(t, v.tag)...)
					enc := session(t, d, pmd.SessionConfig{Algo: pmd.AESGCM, Dir: pmd.Encrypt, Key: key, AADLen: len(aad)})
					dec := session(t, d, pmd.SessionConfig{Algo: pmd.AESGCM, Dir: pmd.Decrypt, Key: key, AADLen: len(aad)})
					frame := make([]byte, hdr+len(pt)+16)
					for i := range hdr {
						frame[i] = byte(0xa0 + i)
					}
					copy(frame[hdr:], pt)
					m := packet(t, pool, frame)
					j := &b.Jobs()[0]
					fill := func(s *pmd.CryptoSession) {
						*j = pmd.CryptoJob{Pkt: m, DataOff: hdr, DataLen: uint32(len(pt)), DigestOff: uint32(hdr + len(pt))}
						j.SetSession(s)
						copy(j.IV[:], unhex(t, v.iv))
						copy(j.AAD[:], aad)
					}
					fill(enc)
					if n := b.Run(1); n != 1 {
						t.Fatalf("encrypt: %d ok, status %v", n, j.Status())
					}
					if got := m.Data()[hdr:]; !bytes.Equal(got, want) {
						t.Fatalf("encrypt:\n got %x\nwant %x", got, want)
					}
					if !bytes.Equal(m.Data()[:hdr], frame[:hdr]) {
						t.Errorf("the header before DataOff changed: %x", m.Data()[:hdr])
					}
					fill(dec)
					if n := b.Run(1); n != 1 {
						t.Fatalf("decrypt: %d ok, status %v", n, j.Status())
					}
					if got := m.Data()[hdr : hdr+len(pt)]; !bytes.Equal(got, pt) {
						t.Fatalf("decrypt:\n got %x\nwant %x", got, pt)
					}
					// Back to ciphertext, then one bit of the tag flipped.
					copy(m.Data()[hdr:], want)
					m.Data()[hdr+len(pt)+3] ^= 0x10
					fill(dec)
					if n := b.Run(1); n != 0 || j.Status() != pmd.CryptoAuthFailed {
						t.Fatalf("tampered tag: %d ok, status %v, want auth-failed", n, j.Status())
					}
					if len(aad) > 0 { // and a flipped bit of the AAD
						m.Data()[hdr+len(pt)+3] ^= 0x10
						fill(dec)
						j.AAD[0] ^= 1
						if n := b.Run(1); n != 0 || j.Status() != pmd.CryptoAuthFailed {
							t.Fatalf("tampered AAD: %d ok, status %v, want auth-failed", n, j.Status())
						}
					}
				})
			}
			c := b.Counters()
			t.Logf("%s counters: %+v", drv, c)
			if c.Errors != 0 || c.BadJobs != 0 || c.Stuck != 0 {
				t.Errorf("counters %+v: errors, bad jobs or stuck ops", c)
			}
		})
	}
}

// espLayout places ESP-like regions in a frame of size bytes: some bytes of
// outer header, an 8-byte ESP header, the IV, the text, a 16-byte ICV. The
// text is the largest that fits (a multiple of block bytes).
type espLayout struct {
	pre, ivLen, text, size int
}

func newESPLayout(size, ivLen, block int) espLayout {
	text := (size - 8 - ivLen - 16) / block * block
	return espLayout{pre: size - 8 - ivLen - 16 - text, ivLen: ivLen, text: text, size: size}
}

func (l espLayout) espOff() int  { return l.pre }
func (l espLayout) ivOff() int   { return l.pre + 8 }
func (l espLayout) textOff() int { return l.pre + 8 + l.ivLen }
func (l espLayout) icvOff() int  { return l.textOff() + l.text }

// gcmOracle seals like RFC 4106: nonce = salt || IV, AAD = SPI || seq
// (|| ESN high bits), with Go's crypto/cipher.
func gcmOracle(t testing.TB, key, nonce, aad, pt []byte) []byte {
	blk, err := aes.NewCipher(key)
	if err != nil {
		t.Fatal(err)
	}
	g, err := cipher.NewGCM(blk)
	if err != nil {
		t.Fatal(err)
	}
	return g.Seal(nil, nonce, pt, aad)
}

// cbcOracle encrypts pt with AES-CBC and returns the ciphertext and the
// HMAC-SHA-256-128 ICV over esp || iv || ciphertext (RFC 4303 §3.3.2,
// RFC 4868), with Go's crypto.
func cbcOracle(t testing.TB, key, authKey, esp, iv, pt []byte) (ct, icv []byte) {
	blk, err := aes.NewCipher(key)
	if err != nil {
		t.Fatal(err)
	}
	ct = make([]byte, len(pt))
	cipher.NewCBCEncrypter(blk, iv).CryptBlocks(ct, pt)
	h := hmac.New(sha256.New, authKey)
	h.Write(esp)
	h.Write(iv)
	h.Write(ct)
	return ct, h.Sum(nil)[:16]
}

// cryptoCase is one algorithm and key size to run on every PMD.
type cryptoCase struct {
	name  string
	algo  pmd.CryptoAlgo
	key   int
	aad   int // GCM: 8, or 12 with ESN
	sizes []int
}

var cryptoCases = []cryptoCase{
	{"gcm128", pmd.AESGCM, 16, 8, []int{64, 512, 1500}},
	{"gcm128esn", pmd.AESGCM, 16, 12, []int{64, 512, 1500}},
	{"gcm256", pmd.AESGCM, 32, 8, []int{64, 512, 1500}},
	{"cbc128", pmd.AESCBCHMACSHA256, 16, 0, []int{64, 512, 1504}},
	{"cbc256", pmd.AESCBCHMACSHA256, 32, 0, []int{64, 512, 1504}},
}

// cryptoFixture is a case's sessions, burst and packets on one PMD.
type cryptoFixture struct {
	c        cryptoCase
	enc, dec *pmd.CryptoSession
	b        *pmd.CryptoBurst
	key, ak  []byte
	salt     []byte
	pkts     []*pmd.Mbuf
	lay      []espLayout
	orig     [][]byte // the frames before encryption
}

func newCryptoFixture(t *testing.T, d *pmd.CryptoDev, c cryptoCase, n int, rng *rand.ChaCha8) *cryptoFixture {
	t.Helper()
	f := &cryptoFixture{c: c, key: make([]byte, c.key), salt: make([]byte, 4)}
	rng.Read(f.key)
	rng.Read(f.salt)
	cfg := pmd.SessionConfig{Algo: c.algo, Key: f.key, AADLen: c.aad}
	if c.algo == pmd.AESCBCHMACSHA256 {
		f.ak = make([]byte, 32)
		rng.Read(f.ak)
		cfg.AuthKey = f.ak
	}
	cfg.Dir = pmd.Encrypt
	f.enc = session(t, d, cfg)
	cfg.Dir = pmd.Decrypt
	f.dec = session(t, d, cfg)
	b, err := d.NewBurst(0)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(b.Close)
	f.b = b
	pool := pmdtest.Pool(t, uint(n+16), 0)
	for i := range n {
		size := c.sizes[i%len(c.sizes)]
		l := newESPLayout(size, 8, 1) // GCM: an 8-byte IV in the packet
		if c.algo == pmd.AESCBCHMACSHA256 {
			l = newESPLayout(size, 16, 16)
		}
		frame := make([]byte, size)
		rng.Read(frame)
		f.pkts = append(f.pkts, packet(t, pool, frame))
		f.lay = append(f.lay, l)
		f.orig = append(f.orig, frame)
	}
	return f
}

// fill sets job i for packet i in direction s.
func (f *cryptoFixture) fill(i int, s *pmd.CryptoSession) {
	j := &f.b.Jobs()[i]
	l, m := f.lay[i], f.pkts[i]
	*j = pmd.CryptoJob{Pkt: m, DataOff: uint32(l.textOff()), DataLen: uint32(l.text), DigestOff: uint32(l.icvOff())}
	j.SetSession(s)
	data := m.Data()
	if f.c.algo == pmd.AESGCM {
		copy(j.IV[:], f.salt)
		copy(j.IV[4:], data[l.ivOff():l.ivOff()+8])
		copy(j.AAD[:], data[l.espOff():l.espOff()+8])
		if f.c.aad == 12 { // SPI || ESN high || seq low (RFC 4106 §5)
			copy(j.AAD[4:], []byte{0, 0, 0, 7})
			copy(j.AAD[8:], data[l.espOff()+4:l.espOff()+8])
		}
		return
	}
	j.AuthOff, j.AuthLen = uint32(l.espOff()), uint32(8+16+l.text)
	copy(j.IV[:], data[l.ivOff():l.ivOff()+16])
}

// want is what encryption must make of frame i, by Go's crypto.
func (f *cryptoFixture) want(t testing.TB, i int) []byte {
	l, fr := f.lay[i], f.orig[i]
	out := bytes.Clone(fr)
	if f.c.algo == pmd.AESGCM {
		j := &f.b.Jobs()[i]
		nonce := append(bytes.Clone(f.salt), fr[l.ivOff():l.ivOff()+8]...)
		sealed := gcmOracle(t, f.key, nonce, j.AAD[:f.c.aad], fr[l.textOff():l.textOff()+l.text])
		copy(out[l.textOff():], sealed)
		return out
	}
	ct, icv := cbcOracle(t, f.key, f.ak, fr[l.espOff():l.espOff()+8], fr[l.ivOff():l.ivOff()+16], fr[l.textOff():l.textOff()+l.text])
	copy(out[l.textOff():], ct)
	copy(out[l.icvOff():], icv)
	return out
}

// roundTrip encrypts the fixture's n packets with run (Run or RunCPU),
// checks each against Go's crypto, flips bit mask of byte off of packet
// bad's ICV, decrypts them back, and checks that every packet but bad is
// its original again, that bad alone fails authentication, and the
// burst's counters.
func (f *cryptoFixture) roundTrip(t *testing.T, n int, run func(int) int, bad, off int, mask byte) {
	t.Helper()
	for i := range n {
		f.fill(i, f.enc)
	}
	if ok := run(n); ok != n {
		t.Fatalf("encrypt: %d of %d ok; first status %v", ok, n, f.b.Jobs()[0].Status())
	}
	for i, m := range f.pkts {
		if want := f.want(t, i); !bytes.Equal(m.Data(), want) {
			t.Fatalf("packet %d (%d bytes): encrypted\n got %x\nwant %x", i, f.lay[i].size, m.Data(), want)
		}
	}
	f.pkts[bad].Data()[f.lay[bad].icvOff()+off] ^= mask
	for i := range n {
		f.fill(i, f.dec)
	}
	if ok := run(n); ok != n-1 {
		t.Fatalf("decrypt: %d of %d ok, want %d", ok, n, n-1)
	}
	for i, m := range f.pkts {
		j := &f.b.Jobs()[i]
		if i == bad {
			if j.Status() != pmd.CryptoAuthFailed {
				t.Errorf("packet %d with a tampered ICV: %v, want auth-failed", i, j.Status())
			}
			continue
		}
		if j.Status() != pmd.CryptoOK {
			t.Errorf("packet %d: %v", i, j.Status())
		}
		l := f.lay[i]
		if got, w := m.Data()[:l.icvOff()], f.orig[i][:l.icvOff()]; !bytes.Equal(got, w) {
			t.Fatalf("packet %d (%d bytes): decrypted\n got %x\nwant %x", i, l.size, got, w)
		}
	}
	if cn := f.b.Counters(); cn.AuthFailed != 1 || cn.OK != uint64(2*n-1) || cn.Errors != 0 || cn.BadJobs != 0 {
		t.Errorf("counters %+v: want 1 auth failure, %d ok, nothing else", cn, 2*n-1)
	}
}

// TestCryptoRoundTrip encrypts a burst of 32 ESP-shaped packets of 64, 512
// and 1500 (CBC: 1504) bytes on each PMD, checks every one against Go's
// crypto, decrypts them back to the original, and checks that a tampered
// ICV fails only its own packet.
func TestCryptoRoundTrip(t *testing.T) {
	const n = 32
	for _, drv := range cryptoDrivers {
		t.Run(drv, func(t *testing.T) {
			d := openCrypto(t, drv)
			for _, c := range cryptoCases {
				t.Run(c.name, func(t *testing.T) {
					rng := rand.NewChaCha8([32]byte{byte(len(c.name)), byte(c.key), byte(c.aad)})
					f := newCryptoFixture(t, d, c, n, rng)
					f.roundTrip(t, n, f.b.Run, 5, 0, 0x80)
				})
			}
		})
	}
}

// TestCryptoBadJobs checks that malformed jobs fail alone as bad-job, with
// every op back in its pool: regions and ICVs outside the packet, no
// packet, no session, another device's session.
func TestCryptoBadJobs(t *testing.T) {
	d := openCrypto(t, "crypto_aesni_mb")
	rng := rand.NewChaCha8([32]byte{9})
	f := newCryptoFixture(t, d, cryptoCases[0], 8, rng)
	var other *pmd.CryptoSession
	if pmd.CryptoDriverLoaded("crypto_openssl") {
		d2 := openCrypto(t, "crypto_openssl")
		other = session(t, d2, pmd.SessionConfig{Algo: pmd.AESGCM, Key: f.key, AADLen: 8})
	}
	breakers := []struct {
		name  string
		spoil func(j *pmd.CryptoJob)
	}{
		{"data past the end", func(j *pmd.CryptoJob) { j.DataLen = j.Pkt.PktLen() }},
		{"offset overflow", func(j *pmd.CryptoJob) { j.DataOff = ^uint32(0) - 2 }},
		{"icv past the end", func(j *pmd.CryptoJob) { j.DigestOff = j.Pkt.PktLen() - 8 }},
		{"no packet", func(j *pmd.CryptoJob) { j.Pkt = nil }},
		{"no session", func(j *pmd.CryptoJob) { j.SetSession(&pmd.CryptoSession{}) }},
		{"other device", func(j *pmd.CryptoJob) {
			if other != nil {
				j.SetSession(other)
			} else {
				j.Pkt = nil
			}
		}},
	}
	for _, br := range breakers {
		for i := range 8 {
			f.fill(i, f.enc)
		}
		br.spoil(&f.b.Jobs()[3])
		if ok := f.b.Run(8); ok != 7 {
			t.Errorf("%s: %d of 8 ok, want 7", br.name, ok)
		}
		if st := f.b.Jobs()[3].Status(); st != pmd.CryptoBadJob {
			t.Errorf("%s: status %v, want bad-job", br.name, st)
		}
		if n := d.OpsInUse(); n != 0 {
			t.Errorf("%s: %d ops out of the pool after the run", br.name, n)
		}
	}
	if c := f.b.Counters(); c.BadJobs != uint64(len(breakers)) || c.Errors != 0 {
		t.Errorf("counters %+v: want %d bad jobs, no errors", c, len(breakers))
	}
	if ok := f.b.Run(0); ok != 0 {
		t.Errorf("empty run: %d ok", ok)
	}
}

// TestCryptoRunAllocs checks the burst path allocates nothing in Go:
// filling the jobs and one Run of 32.
func TestCryptoRunAllocs(t *testing.T) {
	d := openCrypto(t, "crypto_aesni_mb")
	rng := rand.NewChaCha8([32]byte{7})
	for _, c := range []cryptoCase{cryptoCases[0], cryptoCases[3]} {
		f := newCryptoFixture(t, d, c, 32, rng)
		for i := range 32 {
			f.fill(i, f.enc)
		}
		jobs := f.b.Jobs()
		n := testing.AllocsPerRun(100, func() {
			for i := range 32 {
				j := &jobs[i]
				j.Pkt = f.pkts[i]
				j.SetSession(f.enc)
				j.IV[11]++
			}
			if f.b.Run(32) != 32 {
				panic("run failed")
			}
		})
		if n != 0 {
			t.Errorf("%s: %.1f Go allocations per burst, want 0", c.name, n)
		}
		f.b.Close()
	}
}

// TestCryptoTwoQueuePairs runs bursts on two queue pairs of one device at
// once, one on a worker lcore and one on the test's goroutine, sharing
// the device's op pool, and checks every result against Go's crypto.
func TestCryptoTwoQueuePairs(t *testing.T) {
	eal := pmdtest.Need(t)
	if !pmd.CryptoDriverLoaded("crypto_aesni_mb") {
		t.Skip("crypto_aesni_mb not loaded")
	}
	d, err := pmd.OpenCryptoVdev(pmd.CryptoDevConfig{Name: "crypto_aesni_mb_qp2", QueuePairs: 2, Socket: -1})
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	key := bytes.Repeat([]byte{0x5a}, 16)
	s, err := d.NewSession(pmd.SessionConfig{Algo: pmd.AESGCM, Key: key, AADLen: 8})
	if err != nil {
		t.Fatal(err)
	}
	pool := pmdtest.Pool(t, 128, 0)
	const n, rounds = 32, 2000
	type lane struct {
		b    *pmd.CryptoBurst
		pkts []*pmd.Mbuf
		bad  int
	}
	lanes := make([]*lane, 2)
	for q := range lanes {
		b, err := d.NewBurst(q)
		if err != nil {
			t.Fatal(err)
		}
		defer b.Close()
		l := &lane{b: b}
		for i := range n {
			l.pkts = append(l.pkts, packet(t, pool, make([]byte, 64+16)))
			j := &b.Jobs()[i]
			*j = pmd.CryptoJob{Pkt: l.pkts[i], DataLen: 64, DigestOff: 64}
			j.SetSession(s)
			j.IV[0], j.IV[1] = byte(q), byte(i)
		}
		lanes[q] = l
	}
	// Each round re-encrypts every packet in place with the same IV, so
	// (CTR mode) the text alternates between zeros and the keystream; the
	// last round, an even one, seals the keystream back to zeros.
	work := func(l *lane) {
		for range rounds {
			if l.b.Run(n) != n {
				l.bad++
			}
		}
	}
	w := eal.Workers()[0]
	if err := eal.Launch(w, func(uint) error { work(lanes[1]); return nil }); err != nil {
		t.Fatal(err)
	}
	work(lanes[0])
	if err := eal.Wait(w); err != nil {
		t.Fatal(err)
	}
	for q, l := range lanes {
		if l.bad != 0 {
			t.Errorf("queue pair %d: %d runs with failures", q, l.bad)
		}
		for i, m := range l.pkts {
			nonce := make([]byte, 12)
			nonce[0], nonce[1] = byte(q), byte(i)
			once := gcmOracle(t, key, nonce, make([]byte, 8), make([]byte, 64))
			want := gcmOracle(t, key, nonce, make([]byte, 8), once[:64])
			if !bytes.Equal(m.Data(), want) {
				t.Fatalf("queue pair %d packet %d:\n got %x\nwant %x", q, i, m.Data(), want)
			}
		}
	}
	if n := d.OpsInUse(); n != 0 {
		t.Errorf("%d ops out of the pool", n)
	}
}
