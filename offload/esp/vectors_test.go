package esp

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/hmac"
	"crypto/sha256"
	"net/netip"
	"strings"
	"testing"

	"github.com/offloadpmd/offloadpmd/offload/checksum"
	"github.com/offloadpmd/offloadpmd/offload/header"
)

// gcmVector is an ESP packet of "Test Cases for the use of GCM and GMAC in
// IPsec ESP" (draft-mcgrew-gcm-test-01, the companion of RFC 4106). plain
// is the ESP payload with its trailer; ctag the ciphertext and ICV.
type gcmVector struct {
	name      string
	key, salt string
	spi       uint32
	seq       uint64
	esn       bool // a 12-byte AAD: SPI and 64-bit sequence number
	iv        string
	plain     string
	ctag      string
}

var gcmVectors = []gcmVector{
	{"128 esn 1", "4c80cdefbb5d10da906ac73c3613a634", "2e443b68", 0x4321, 0x8765432100000000, true, "4956ed7e3b244cfe",
		`45000048699a000080114db7c0a80102c0a801010a9bf15638d3010000010000
		00000000045f736970045f756470037369700963796265726369747902646b00 0021000101020201`,
		`fecf537e729d5b07dc30df528dd22b768d1b98736696a6fd348509fa13ceac34
		cfa2436f14a3f3cf65925bf1f4a13c5d15b21e1884f5ff6247aeabb786b93bce 61bc17d768fd9732459018148f6cbe722fd04796562dfdb4`},
	{"128 esn 2", "3de09874b388e6491988d0c3607eae1f", "57690e43", 0x42f67e3f, 0x1010101010101010, true, "4e280000a2fca1a3",
		`4500003c99c300008001cb7c40679318010101010800085c0200430061626364
		65666768696a6b6c6d6e6f707172737475767761626364656667686901020201`,
		`fba2caa4853cf9f0f22cb10d86dd83b0fec75691cf1a04b00d1138ec9c357917
		65acbd8701ad79845bf9fe3fba487bc91755e6662b4c8d0d1f5e22739530320a e0d731cc978ecafaeae88f00e80d6e48`},
	{"128 esn 3", "3de09874b388e6491988d0c3607eae1f", "57690e43", 0x42f67e3f, 0x1010101010101010, true, "4e280000a2fca1a3",
		`4500001c42a200008001441f406793b6e00000020a00f5ff01020201`,
		`fba2ca845e5df9f0f22c3e6e86dd831e1fc65792cd1af9130e1379ed369f071f 35e034be95f112e4e7d05d35`},
	{"128 esn 4", "abbccddef00112233445566778899aab", "decaf888", 0x100, 1, true, "cafedebaceface74",
		`4500004933ba00007f119106c3fb1d10c2b1d326c02831ce0035dd7b800302d5
		00004e20001e8c18d75b81dc91baa0476b91b924b280389d92c963bac046ec95 9b6266c04722b14923010101`,
		`18a6fd42f72cbf4ab2a2ea901f73d814e3e7f243d95412e1c349c1d2fbec168f
		9190feebaf2cb01984e65863965d7472b79da345e0e780191f0d2f0e0f496c22 6f2127b27db35724e7845d68651f57e65f354f75ff17015769623436`},
	{"128 esn 5", "3de09874b388e6491988d0c3607eae1f", "57690e43", 0x42f67e3f, 0x1010101010101010, true, "4e280000a2fca1a3",
		`45000049333e00007f119182c3fb1d10c2b1d326c02831ce0035cb458003025b
		000001e0001e8c18d65759d52284a0352c71475c8880391c764d6e5ee0496b32 5ae270c03899493915010101`,
		`fba2cad12fc1f9f00d3cebf305410db83d7784b607323d220f24b0a97d541828
		00cadb0f68d99ef0e0c0c89ae9bea8884e52d65bc1afd0740f742444747b5b39 ab533163aad4550ee5160975cdb608c5769189609763b8e18caa81e2`},
	{"128 esn 6", "abbccddef00112233445566778899aab", "decaf888", 0x100, 1, true, "cafedebaceface74",
		`746f016265016f72016e6f7401746f0162650001`,
		`29c9fc69a197d038ccdd14e2ddfcaa0543332164412503524303ed3c6c5f2838 43af8c3e`},
	{"128 esn 7", "3de09874b388e6491988d0c3607eae1f", "57690e43", 0x3f7ef642, 0x1010101010101010, true, "4e280000a2fca1a3",
		`45000030da3a00008001df3bc0a80005c0a800010800c6cd0200070061626364
		65666768696a6b6c6d6e6f707172737401020201`,
		`fba2caa8c6c5f9f0f22ca54a061210ad3f6e5791cf1aca210d117cec9c357917
		65acbd8701ad79845bf9fe3fba487bc96321930684eecadb56912546e7a95c97 40d7cb05`},
	{"128 esn 8", "4c80cdefbb5d10da906ac73c3613a634", "22433c64", 0x4321, 0x8765432100000007, true, "4855ec7d3a234bfd",
		`0800c6cd020007006162636465666768696a6b6c6d6e6f707172737401020201`,
		`74752e8aeb5d873cd7c0f4acc36c4bff84b7d7b98f0ca8b6acda6894bc619069 ef9cbc28fe1b56a7c4e0d58c86cd2bc0`},
	{"256 esn 9", "abbccddef00112233445566778899aababbccddef00112233445566778899aab", "73616c74", 0x17405e67, 0x156f3126dd0db99b, true, "616e640169766563",
		`45080028732c00004006e9f90a0106120a01038f06b88023dd6bafbecb712602 50101f646d540001`,
		`f2d69ecdbd5a0d5b8d5ef38bad4da58d1f278fde98ef67549d524a3018d9a57f
		f4d3a31ce673119e451626c2415771e3b7eebca614c89b35`},
	{"256 esn 10", "abbccddef00112233445566778899aababbccddef00112233445566778899aab", "73616c74", 0x17405e67, 0x156f3126dd0db99b, true, "616e640169766563",
		`636973636f0172756c657301746865016e6574776501646566696e6501746865
		746563686e6f6c6f67696573017468617477696c6c01646566696e65746f6d6f 72726f7701020201`,
		`d4b7ed86a1777f2ea13d6973d324c69e7b43f826fb56831226508bebd2dceb18
		d0a6df10e5487df074113e14c641024e3e6773d91a62ee429b043a10e3efe6b0 12a49363412364f8c0cac587f249e56b11e24f30e44ccc76`},
	{"256 esn 11 last sequence number", "6c6567616c697a656d6172696a75616e61616e64646f69746265666f72656961", "7475726e", 0x796b6963, 0xffffffffffffffff, true, "333021696765746d",
		`45000030da3a00008001df3bc0a80005c0a800010800c6cd0200070061626364
		65666768696a6b6c6d6e6f707172737401020201`,
		`f97ab2aa356d8edce17644ac8c78e25dd24dedbb29ebf1b64a274b39b49c3a86
		4cd3d78ca4ae68a32b42458fb57dbe821dcc63b9d0937ba2945f669368661a32 9fb4c053`},
	{"256 32-bit sequence", "abbccddef00112233445566778899aababbccddef00112233445566778899aab", "11223344", 0x4a2cbfe3, 2, false, "0102030405060708",
		`4500003069a6400080062690c0a801029389155e0a9e008b2dc57ee000000000 7002400020bf0000020405b40101040201020201`,
		`ff425c9b724599df7a3bcd510194e00d6a78107f1b0b1cbf06efae9d65a5d763
		748a637985771d347f0545659f14e99def842d8e b335f4eecfdbf831824b4c4915956c96`},
	{"128 32-bit sequence, empty payload, last sequence number", "7d773d00c144c525ac619d18c84a3f47", "d9664267", 0x335467ae, 0xffffffff, false, "43457e9182443bc6",
		`01020201`, `437f866b cb3f699fe9b0822bac961c4504bef270`},
}

// aeadSA is an SA with just a GCM AEAD, for vectors whose SPI or key
// length an SA would refuse.
func aeadSA(t *testing.T, key []byte) *SA {
	b, err := aes.NewCipher(key)
	if err != nil {
		t.Fatal(err)
	}
	g, err := cipher.NewGCM(b)
	if err != nil {
		t.Fatal(err)
	}
	return &SA{cfg: Config{Alg: AESGCM128}, aead: g, secrets: &secrets{}}
}

// TestGCMVectorsAEAD runs the engine on each vector's bytes with the
// AAD laid out as RFC 4106 §5 says: SPI then the 32- or 64-bit sequence
// number. It includes the vectors no SA can hold (SPI 0, a 192-bit key).
func TestGCMVectorsAEAD(t *testing.T) {
	all := append([]gcmVector{
		{"zero key, spi 0", "00000000000000000000000000000000", "00000000", 0, 1, false, "0000000000000000",
			`4500003c99c500008001cb7a40679318010101010800075c0200440061626364
			65666768696a6b6c6d6e6f707172737475767761626364656667686901020201`,
			`4688daf2f973a392732909c331d56d60f694abaa414b5e7ff5fdcdfff5e9a284
			456476492719ffb64de7d9dca1e1d894bc3bd57873ed4d181d19d4d5c8c18af3 f821d496eeb096e98ad2b69e4799c71d`},
		{"192-bit key", "feffe9928665731c6d6a8f9467308308feffe9928665731c", "cafebabe", 0x0000a5f8, 10, false, "facedbaddecaf888",
			`45000028a4ad4000400678800a01038f0a010612802306b8cb712602dd6bb03e 501016d075680001`,
			`a5b1f8066029aea40e598b8122de02420938b3ab33f828e687b8858b5bfbdbd0
			315b27452144cc77 95457b9652037f5318027b5b4cd7a636`},
	}, gcmVectors...)
	var e GoEngine
	for _, v := range all {
		sa := aeadSA(t, unhex(t, v.key))
		plain, want := unhex(t, v.plain), unhex(t, v.ctag)
		b := append(append([]byte(nil), plain...), make([]byte, ICVLen)...)
		j := []Job{{SA: sa, Op: Encrypt, CipherOff: 0, CipherLen: len(plain), ICVOff: len(plain)}}
		copy(j[0].Nonce[:], unhex(t, v.salt))
		copy(j[0].Nonce[SaltLen:], unhex(t, v.iv))
		be.PutUint32(j[0].AAD[:], v.spi)
		if v.esn {
			be.PutUint64(j[0].AAD[4:], v.seq)
			j[0].AADLen = 12
		} else {
			be.PutUint32(j[0].AAD[4:], uint32(v.seq))
			j[0].AADLen = 8
		}
		e.Process(j, [][]byte{b})
		if j[0].Status != OK {
			t.Fatalf("%s: %v", v.name, j[0].Status)
		}
		mustEqual(t, v.name+" ciphertext and ICV", b, want)
		j[0].Op = Decrypt
		e.Process(j, [][]byte{b})
		if j[0].Status != OK {
			t.Fatalf("%s: decrypt: %v", v.name, j[0].Status)
		}
		mustEqual(t, v.name+" decrypted", b[:len(plain)], plain)
	}
}

// ipv4Packet builds a bare IPv4 packet (no L2) with protocol proto around
// payload.
func ipv4Packet(proto uint8, payload []byte) []byte {
	b := make([]byte, header.IPv4MinLen+len(payload))
	header.IPv4(b).Encode(&header.IPv4Fields{TotalLen: uint16(len(b)), ID: 9, TTL: 64, Protocol: proto,
		Src: netip.MustParseAddr("198.51.100.1"), Dst: netip.MustParseAddr("198.51.100.2")})
	checksum.SetIPv4(header.IPv4(b))
	copy(b[header.IPv4MinLen:], payload)
	return b
}

// splitTrailer cuts a vector's plaintext into payload, padding length and
// next header.
func splitTrailer(plain []byte) (payload []byte, padLen int, nh uint8) {
	padLen, nh = int(plain[len(plain)-2]), plain[len(plain)-1]
	return plain[:len(plain)-TrailerLen-padLen], padLen, nh
}

// vectorPair makes the outbound and inbound SA of a vector.
func vectorPair(t *testing.T, cfg Config, seq uint64) (*Table, *SA, *SA) {
	var r Registry
	cfg.Dir = Outbound
	out, err := r.Add(cfg)
	if err != nil {
		t.Fatal(err)
	}
	cfg.Dir = Inbound
	in, err := r.Add(cfg)
	if err != nil {
		t.Fatal(err)
	}
	out.seq.Store(seq - 1) // the next packet gets seq
	in.replay.top.Store(seq - 1)
	return r.Load(), out, in
}

// TestGCMVectorsESP encapsulates each vector's payload in transport mode
// (an IPv4 packet whose protocol is the vector's next header), with the
// vector's SPI, sequence number and IV, and checks the ESP packet byte
// for byte: padding, trailer, AAD layout (with and without ESN), nonce.
// Then it decapsulates it back.
func TestGCMVectorsESP(t *testing.T) {
	for _, v := range gcmVectors {
		payload, _, nh := splitTrailer(unhex(t, v.plain))
		key := append(unhex(t, v.key), unhex(t, v.salt)...)
		alg := AESGCM128
		if len(key) == 32+SaltLen {
			alg = AESGCM256
		}
		tab, out, _ := vectorPair(t, Config{SPI: v.spi, Mode: Transport, Alg: alg, EncKey: NewKey(key), ESN: v.esn}, v.seq)
		orig := ipv4Packet(nh, payload)
		p := inBuffer(orig, 64, 64)
		var j [1]Job
		if r := out.PrepareEncrypt(p, 0, &j[0]); r != OK {
			t.Fatalf("%s: %v", v.name, r)
		}
		// The vector's IV instead of ours (the sequence number).
		iv := unhex(t, v.iv)
		copy(p.Bytes()[j[0].IVOff:], iv)
		copy(j[0].Nonce[SaltLen:], iv)
		var e GoEngine
		e.Process(j[:], [][]byte{p.Bytes()})
		if r := FinishEncrypt(&j[0]); r != OK {
			t.Fatalf("%s: %v", v.name, r)
		}
		want := make([]byte, HeaderLen)
		be.PutUint32(want, v.spi)
		be.PutUint32(want[4:], uint32(v.seq))
		want = append(append(want, iv...), unhex(t, v.ctag)...)
		mustEqual(t, v.name+" ESP", p.Bytes()[header.IPv4MinLen:], want)
		ip := header.IPv4(p.Bytes())
		if ip.Protocol() != header.ProtoESP || int(ip.TotalLen()) != p.Len || checksum.VerifyIPv4(ip) != checksum.Good {
			t.Fatalf("%s: IP header %x", v.name, p.Bytes()[:20])
		}
		if r, _ := decrypt(tab, p, 0, &e); r != OK {
			t.Fatalf("%s: decrypt: %v", v.name, r)
		}
		mustEqual(t, v.name+" decapsulated", p.Bytes(), orig)
	}
}

// TestCBCVectorsESP: RFC 3602 §4 cases 5 to 8, ESP packets with AES-CBC
// and no ICV, in transport mode (ICMP, next header 1) and tunnel mode
// (next header 4). The ESP header, IV and ciphertext must match byte for
// byte; the ICV must be HMAC-SHA-256-128 over them.
func TestCBCVectorsESP(t *testing.T) {
	cases := []struct {
		name    string
		key     string
		spi     uint32
		seq     uint64
		iv      string
		mode    Mode
		payload string // the transport payload or the inner packet
		esp     string // ESP header, IV, ciphertext
	}{
		{"case 5", "90d382b410eeba7ad938c46cec1a82bf", 0x4321, 1, "e96e8c08ab465763fd098d45dd3ff893", Transport,
			`08000ebda70a00008e9c083db95b070008090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f202122232425262728292a2b2c2d2e2f3031323334353637`,
			`0000432100000001e96e8c08ab465763fd098d45dd3ff893f663c25d325c18c6a9453e194e120849a4870b66cc6b9965330013b4898dc856
			a4699e523a55db080b59ec3a8e4b7e52775b07d1db34ed9c538ab50c551b874aa269add047ad2d5913ac19b7cfbad4a6`},
		{"case 6", "90d382b410eeba7ad938c46cec1a82bf", 0x4321, 8, "69d08df7d203329db093fc4924e5bd80", Transport,
			`0800b5e8a80a0500a69c083d0b660e00777777777777777777777777`,
			`000043210000000869d08df7d203329db093fc4924e5bd80f51995881ec4e0c4488987ce742e8109689bb379d2d750c0d915dca346a89f75`},
		{"case 7", "0123456789abcdef0123456789abcdef", 0x8765, 2, "f4e765244f6407adf13dc1380f673f37", Tunnel,
			`45000054090400004001f988c0a87b03c0a87bc808009f76a90a0100b49c083d02a2040008090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f202122232425262728292a2b2c2d2e2f3031323334353637`,
			`0000876500000002f4e765244f6407adf13dc1380f673f37773b5241a4c449225e4f3ce5ed611b0c237ca96cf74a93013c1b0ea1a0cf70f8
			e4ecaec78ac53aad7a0f022b859243c647752e94a859352b8a4d4d2decd136e5c177f132ad3fbfb2201ac9904c74ee0a109e0ca1e4dfe9d5a100b842f1c22f0d`},
		{"case 8", "0123456789abcdef0123456789abcdef", 0x8765, 5, "85d47224b5f3dd5d2101d4ea8dffab22", Tunnel,
			`45000044090c00004001f990c0a87b03c0a87bc80800d63caa0a0200c69c083da3de0300ffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff`,
			`000087650000000585d47224b5f3dd5d2101d4ea8dffab2215b92683819596a8047232cc00f7048fe45318e11f8a0f62ede3c3fc61203bb50f
			980a08c9843fd3a1b06d5c07ff9639b7eb7dfb3512e5de435e7207ed971ef3d2726d9b5ef6affc6d17a0decbb13892`},
	}
	authKey := keyOf(AuthKeyLen, 9)
	for _, c := range cases {
		cfg := Config{SPI: c.spi, Mode: c.mode, Alg: AESCBC128SHA256, EncKey: NewKey(unhex(t, c.key)), AuthKey: authKey}
		if c.mode == Tunnel {
			cfg.Src, cfg.Dst = netip.MustParseAddr("192.168.123.100"), netip.MustParseAddr("192.168.123.200")
		}
		tab, out, _ := vectorPair(t, cfg, c.seq)
		orig := unhex(t, c.payload)
		if c.mode == Transport {
			orig = ipv4Packet(1, orig)
		}
		p := inBuffer(orig, 128, 64)
		var j [1]Job
		if r := out.PrepareEncrypt(p, 0, &j[0]); r != OK {
			t.Fatalf("%s: %v", c.name, r)
		}
		copy(p.Bytes()[j[0].IVOff:], unhex(t, c.iv))
		var e GoEngine
		e.Process(j[:], [][]byte{p.Bytes()})
		if r := FinishEncrypt(&j[0]); r != OK {
			t.Fatalf("%s: %v", c.name, r)
		}
		want := unhex(t, c.esp)
		got := p.Bytes()[j[0].ESPOff:]
		mustEqual(t, c.name+" ESP", got[:len(want)], want)
		mac := hmac.New(sha256.New, authKey.Bytes())
		mac.Write(want)
		mustEqual(t, c.name+" ICV", got[len(want):], mac.Sum(nil)[:ICVLen])
		if r, _ := decrypt(tab, p, 0, &e); r != OK {
			t.Fatalf("%s: decrypt: %v", c.name, r)
		}
		mustEqual(t, c.name+" decapsulated", p.Bytes(), orig)
	}
}

// TestHMACVectors: RFC 4231 test cases 1 to 7 through the engine's ICV
// path (a reused HMAC state, Reset per packet, truncation to 128 bits as
// RFC 4868 §2.3 uses it), each computed twice.
func TestHMACVectors(t *testing.T) {
	rep := func(b byte, n int) string { return strings.Repeat(string([]byte{b}), n) }
	cases := []struct{ key, data, mac string }{
		{rep(0x0b, 20), "Hi There", "b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7"},
		{"Jefe", "what do ya want for nothing?", "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"},
		{rep(0xaa, 20), rep(0xdd, 50), "773ea91e36800e46854db8ebd09181a72959098b3ef8c122d9635514ced565fe"},
		{"\x01\x02\x03\x04\x05\x06\x07\x08\x09\x0a\x0b\x0c\x0d\x0e\x0f\x10\x11\x12\x13\x14\x15\x16\x17\x18\x19", rep(0xcd, 50),
			"82558a389a443c0ea4cc819899f2083a85f0faa3e578f8077a2e3ff46729665b"},
		{rep(0x0c, 20), "Test With Truncation", "a3b6167473100ee06e0c796c2955552b"}, // the RFC gives 128 bits
		{rep(0xaa, 131), "Test Using Larger Than Block-Size Key - Hash Key First",
			"60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54"},
		{rep(0xaa, 131), "This is a test using a larger than block-size key and a larger than block-size data. The key needs to be hashed before being used by the HMAC algorithm.",
			"9b09ffa71b942fcb27635fbcd5b0e944bfdc63644f0713938a7f51535c3a35e2"},
	}
	for i, c := range cases {
		s := &goState{mac: hmac.New(sha256.New, []byte(c.key))}
		data := []byte(c.data)
		j := &Job{AuthOff: 0, AuthLen: len(data)}
		want := unhex(t, c.mac)[:ICVLen]
		for range 2 {
			mustEqual(t, "RFC 4231 case "+string(rune('1'+i)), s.icv(j, data), want)
		}
	}
}
