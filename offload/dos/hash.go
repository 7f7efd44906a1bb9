package dos

import "math/bits"

// mum multiplies two words to 128 bits and folds the halves: the mixing
// step of multiply-based hashes. Each output bit depends on every input
// bit of both words.
func mum(a, b uint64) uint64 {
	hi, lo := bits.Mul64(a, b)
	return hi ^ lo
}

// Odd constants (fractional digits of π and e) that keep a zero word from
// zeroing a product.
const (
	hk0 = 0xa4093822299f31d0
	hk1 = 0x082efa98ec4e6c89
	hk2 = 0x452821e638d01377
	hk3 = 0xbe5466cf34e90c6c
	hk4 = 0xb7e151628aed2a6b
)

// sourceHash is the fingerprint of a source prefix (the masked address as
// two words, and the family): never 0, which marks an empty table way.
func sourceHash(seed, hi, lo uint64, v6 bool) uint64 {
	f := uint64(4)
	if v6 {
		f = 6
	}
	h := mum(hi^seed^hk0, lo^hk1^f)
	h = mum(h^hk2, seed^hk3)
	return h | nonZero(h)
}

// flowHash is the fingerprint of a TCP connection, given from the client
// side: client address, server address, client port, server port.
func flowHash(seed uint64, k *addrs, cport, sport uint16, v6 bool) uint64 {
	f := uint64(cport)<<17 | uint64(sport)<<1
	if v6 {
		f |= 1
	}
	h := mum(k.sHi^seed^hk0, k.sLo^hk1)
	h = mum(h^k.dHi^hk2, k.dLo^hk3)
	h = mum(h^f^hk4, seed^hk1)
	return h | nonZero(h)
}

// flowHashRev is flowHash of a packet sent by the server.
func flowHashRev(seed uint64, k *addrs, sport, cport uint16, v6 bool) uint64 {
	r := addrs{sHi: k.dHi, sLo: k.dLo, dHi: k.sHi, dLo: k.sLo}
	return flowHash(seed, &r, cport, sport, v6)
}

// fragHash is the fingerprint of a fragmented datagram: addresses,
// protocol (IPv4) and identification.
func fragHash(seed uint64, k *addrs, id uint32, proto uint8, v6 bool) uint64 {
	f := uint64(id)<<9 | uint64(proto)<<1
	if v6 {
		f |= 1
	}
	h := mum(k.sHi^seed^hk2, k.sLo^hk3)
	h = mum(h^k.dHi^hk0, k.dLo^hk1)
	h = mum(h^f^hk4, seed^hk2)
	return h | nonZero(h)
}

// nonZero is 1 if h is 0, else 0.
func nonZero(h uint64) uint64 {
	if h == 0 {
		return 1
	}
	return 0
}
