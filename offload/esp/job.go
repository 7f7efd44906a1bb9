package esp

import (
	"crypto/cipher"
	"crypto/hmac"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/binary"
	"hash"

	"github.com/offloadpmd/offloadpmd/offload/pkt"
)

var be = binary.BigEndian

// esnHiLen is the high half of an extended sequence number.
const esnHiLen = 4

// Op is what a Job asks of an engine.
type Op uint8

// Operations.
const (
	// Encrypt: encrypt [CipherOff, ICVOff) in place and write the ICV.
	Encrypt Op = iota + 1
	// Decrypt: check the ICV at ICVOff and, if it is right, decrypt
	// [CipherOff, ICVOff) in place.
	Decrypt
)

// Packet is a frame inside a larger buffer: Buf[Off:Off+Len] is the
// frame, Buf[:Off] the headroom, Buf[Off+Len:] the tailroom (see the
// package comment).
type Packet struct {
	Buf      []byte
	Off, Len int
}

// Bytes is the frame.
func (p *Packet) Bytes() []byte { return p.Buf[p.Off : p.Off+p.Len] }

// Job is the crypto work of one packet, as Prepare leaves it for an
// engine. Offsets count from the first byte of the packet (Packet.Off
// after Prepare).
//
// For GCM (Alg.AEAD()): the engine runs AES-GCM with Nonce and
// AAD[:AADLen] over [CipherOff, ICVOff), the tag at ICVOff. For CBC with
// HMAC-SHA-256-128: encryption is CBC over [CipherOff, ICVOff) with the IV
// at IVOff, then the ICV is HMAC-SHA-256 over [AuthOff, AuthOff+AuthLen)
// followed, when ESN, by the 4 bytes ESNHi (RFC 4303 §2.2.1: the high
// sequence bits are authenticated, not sent), truncated to 16 bytes at
// ICVOff; decryption checks that ICV before decrypting. An engine that can
// authenticate only contiguous bytes (a cryptodev) may write ESNHi at
// ICVOff and the ICV 4 bytes later, then move it back: SA.Tailroom leaves
// room for that on encryption; on decryption it must keep the received
// ICV aside first.
//
// The engine sets Status: OK, BadICV, or EngineError.
type Job struct {
	SA *SA
	Op Op
	// Pkt is the packet's handle (its mbuf in the data path) for engines
	// that address packets by handle; Prepare leaves it alone.
	Pkt pkt.Handle

	ESPOff    int // the ESP header
	IVOff     int // the IV, after the ESP header
	CipherOff int // the first encrypted byte: payload, padding, trailer
	CipherLen int // a multiple of Alg.Align()
	ICVOff    int // CipherOff + CipherLen
	AuthOff   int // CBC: the ESP header
	AuthLen   int // CBC: ESP header, IV and ciphertext

	Nonce  [NonceLen]byte  // GCM: salt and IV
	AAD    [MaxAADLen]byte // GCM: SPI and sequence number (RFC 4106 §5)
	AADLen int             // 8, or 12 with ESN
	ESN    bool
	ESNHi  [esnHiLen]byte // the high sequence bits, big-endian

	// Seq is the packet's full sequence number.
	Seq uint64
	// Status is the engine's verdict; Prepare sets it to Unprocessed.
	Status Reason

	// NextHeader is, after FinishDecrypt, what the ESP trailer named: the
	// inner packet's IP version (4, 41) in tunnel mode, the payload's
	// protocol in transport mode.
	NextHeader uint8

	// Left by PrepareDecrypt for FinishDecrypt.
	l2Len    int
	ipHdrLen int  // outer IP header with extension headers
	v6       bool // outer header is IPv6
	lastNH   int  // IPv6: offset in the IP header of the byte naming ESP
}

// Engine does the crypto of a burst of jobs: jobs[i] on the packet pkts[i]
// (the frame Prepare left, Packet.Bytes()). It sets each job's Status.
type Engine interface {
	Process(jobs []Job, pkts [][]byte)
}

// GoEngine is an Engine in Go: crypto/aes and crypto/cipher's GCM and CBC,
// crypto/hmac with SHA-256. It allocates nothing per packet: the GCM
// AEADs are made with the SA, and the per-SA HMAC and CBC contexts, which
// are not safe for concurrent use, are made once per engine on the SA's
// first packet. Use one GoEngine per lcore.
type GoEngine struct {
	st []*goState // by SA index
}

// cbcMode is crypto/cipher's CBC, whose IV can be reset (crypto/tls relies
// on SetIV): one per SA and direction instead of one per packet.
type cbcMode interface {
	cipher.BlockMode
	SetIV([]byte)
}

type goState struct {
	sa  *SA
	mac hash.Hash
	enc cbcMode
	dec cbcMode
	sum [sha256.Size]byte
}

// state returns the engine's scratch state for sa, making it on first use
// (and again if the index now holds another SA).
func (e *GoEngine) state(sa *SA) *goState {
	i := int(sa.index)
	if i < len(e.st) && e.st[i] != nil && e.st[i].sa == sa {
		return e.st[i]
	}
	if i >= len(e.st) {
		e.st = append(e.st, make([]*goState, i+1-len(e.st))...)
	}
	s := &goState{sa: sa}
	if !sa.cfg.Alg.AEAD() {
		s.mac = hmac.New(sha256.New, sa.secrets.authKey)
		var iv [MaxIVLen]byte
		s.enc, _ = cipher.NewCBCEncrypter(sa.block, iv[:]).(cbcMode)
		s.dec, _ = cipher.NewCBCDecrypter(sa.block, iv[:]).(cbcMode)
	}
	e.st[i] = s
	return s
}

// Process implements Engine.
func (e *GoEngine) Process(jobs []Job, pkts [][]byte) {
	for i := range jobs {
		e.process(&jobs[i], pkts[i])
	}
}

func (e *GoEngine) process(j *Job, b []byte) {
	sa := j.SA
	if sa == nil || j.ICVOff+ICVLen > len(b) || j.CipherOff < 0 || j.CipherOff > j.ICVOff {
		j.Status = EngineError
		return
	}
	ct := b[j.CipherOff:j.ICVOff:j.ICVOff]
	if sa.aead != nil {
		aad := j.AAD[:j.AADLen]
		if j.Op == Encrypt {
			// In place: Seal appends the tag after the ciphertext, into
			// the ICV's bytes.
			sa.aead.Seal(b[j.CipherOff:j.CipherOff], j.Nonce[:], ct, aad)
			j.Status = OK
			return
		}
		if _, err := sa.aead.Open(b[j.CipherOff:j.CipherOff], j.Nonce[:], b[j.CipherOff:j.ICVOff+ICVLen], aad); err != nil {
			j.Status = BadICV
			return
		}
		j.Status = OK
		return
	}
	s := e.state(sa)
	if s.enc == nil || s.dec == nil || len(ct)%sa.cfg.Alg.Align() != 0 {
		j.Status = EngineError
		return
	}
	iv := b[j.IVOff : j.IVOff+MaxIVLen]
	if j.Op == Encrypt {
		s.enc.SetIV(iv)
		s.enc.CryptBlocks(ct, ct)
		copy(b[j.ICVOff:j.ICVOff+ICVLen], s.icv(j, b))
		j.Status = OK
		return
	}
	// Encrypt-then-MAC: check before decrypting.
	if subtle.ConstantTimeCompare(s.icv(j, b), b[j.ICVOff:j.ICVOff+ICVLen]) != 1 {
		j.Status = BadICV
		return
	}
	s.dec.SetIV(iv)
	s.dec.CryptBlocks(ct, ct)
	j.Status = OK
}

// icv computes HMAC-SHA-256-128 over the authenticated bytes and, with
// ESN, the high sequence bits (RFC 4303 §2.2.1, RFC 4868 §2.3).
func (s *goState) icv(j *Job, b []byte) []byte {
	s.mac.Reset()
	s.mac.Write(b[j.AuthOff : j.AuthOff+j.AuthLen])
	if j.ESN {
		s.mac.Write(j.ESNHi[:])
	}
	return s.mac.Sum(s.sum[:0])[:ICVLen]
}
