// Package esp is offloadpmd's IPsec ESP engine (RFC 4303): security
// associations, encapsulation and decapsulation in place, anti-replay, and
// the crypto of AES-GCM (RFC 4106) and AES-CBC with HMAC-SHA-256-128
// (RFC 3602, RFC 4868) in Go. It needs no EAL and no cgo.
//
// # Three phases
//
// Both directions are split so that a batch crypto engine (a DPDK
// cryptodev) can do the middle step for a whole burst:
//
//	TX: sa.PrepareEncrypt(&p, l2Len, &job)   headers, trailer, sequence number
//	    engine.Process(jobs, pkts)           encrypt and write the ICV
//	    esp.FinishEncrypt(&job)              the verdict
//
//	RX: table.PrepareDecrypt(&p, l2Len, &job) SPI lookup, lengths, replay check
//	    engine.Process(jobs, pkts)            verify the ICV, decrypt
//	    esp.FinishDecrypt(&p, &job)           replay update, trailer, strip
//
// A Job says where the crypto work is in the packet (offsets from the
// packet's first byte, as Prepare left it), with the nonce, the AAD and the
// ESN high-order bits it needs; see Job for how an engine uses them.
// GoEngine is the engine in Go. Every failure is a Reason, a named counter;
// nothing allocates per packet and nothing logs.
//
// # Packet memory
//
// A Packet is a frame inside a larger buffer, as an mbuf holds one:
// Buf[Off:Off+Len] is the frame (Ethernet header, then IP), Buf[:Off] the
// headroom, Buf[Off+Len:] the tailroom. Encapsulation grows the frame at
// both ends in place and decapsulation shrinks it; they change Off and
// Len, never Buf. For a single-segment mbuf, Buf is the data room
// (buf_addr, buf_len), Off is data_off and Len is data_len; after either
// call the caller writes Off and Len back. SA.Headroom and SA.Tailroom are
// the most an encapsulation needs (DPDK's default headroom, 128 bytes, is
// enough). The L2 header, l2Len bytes (0 for a bare IP packet), travels
// with the packet: it is moved to stay in front of the outermost IP header,
// and its last two bytes, the EtherType, are set to the new outer IP
// version.
//
// The inner packet's checksums must be final before PrepareEncrypt (the
// pipeline encrypts after segmentation and checksums): once encrypted
// they cannot be touched.
//
// # Concurrency
//
// SAs are published in an immutable Table by a Registry (atomic pointer
// swap, as offload.Registry publishes capability tables): lcores load the
// table once per burst and never lock. An SA's mutable state is:
//
//   - the outbound sequence counter: atomic, so any number of lcores may
//     encrypt with one SA; an lcore may take a burst's numbers at once
//     with a SeqBlock (PrepareEncryptSeq) and give back what it did not
//     use;
//   - the inbound anti-replay window: owned by one lcore. Packets of one
//     inbound SA must be decrypted by a single lcore (with RSS on the
//     outer addresses, as ESP traffic of one SA has, they arrive on one
//     queue).
//
// A GoEngine holds per-SA scratch state (the HMAC and CBC contexts) and is
// used by one lcore; make one per lcore.
package esp
