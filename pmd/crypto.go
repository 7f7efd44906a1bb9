package pmd

import (
	"fmt"
	"strings"
)

// CryptoAlgo is what a crypto session does to a packet.
type CryptoAlgo uint8

// Session algorithms: the two ESP suites of issue 7.
const (
	// AESGCM is AEAD AES-GCM (RFC 4106 in ESP): a 12-byte nonce (the
	// SA's 4-byte salt and the packet's 8-byte IV), AAD (8 bytes of SPI
	// and sequence number, 12 with extended sequence numbers) and a
	// 16-byte ICV.
	AESGCM CryptoAlgo = iota + 1
	// AESCBCHMACSHA256 is AES-CBC with HMAC-SHA-256 (RFC 3602, RFC 4868's
	// HMAC-SHA-256-128 in ESP): a 16-byte IV, a 32-byte HMAC key and the
	// MAC truncated to 16 bytes. Encrypt then MAC; on decryption the MAC
	// is verified first.
	AESCBCHMACSHA256
)

func (a CryptoAlgo) String() string {
	switch a {
	case AESGCM:
		return "aes-gcm"
	case AESCBCHMACSHA256:
		return "aes-cbc+sha2-256-hmac"
	}
	return fmt.Sprintf("CryptoAlgo(%d)", uint8(a))
}

// IVLen is the IV the device takes for a: GCM's 12-byte nonce, CBC's
// 16-byte IV.
func (a CryptoAlgo) IVLen() int {
	if a == AESCBCHMACSHA256 {
		return 16
	}
	return 12
}

// CryptoDir is a session's direction.
type CryptoDir uint8

// Directions.
const (
	Encrypt CryptoDir = iota // encrypt and write the ICV
	Decrypt                  // check the ICV and decrypt
)

func (d CryptoDir) String() string {
	if d == Decrypt {
		return "decrypt"
	}
	return "encrypt"
}

// Session limits: what a CryptoJob carries and a session config takes.
const (
	CryptoIVMax      = 16 // IV bytes a job carries
	CryptoAADMax     = 32 // AAD bytes a job carries
	CryptoKeyMax     = 32 // AES-256
	CryptoAuthKeyMax = 64 // one SHA-256 block
	// DefaultDigestLen is the ICV of both ESP suites: GCM's full tag,
	// HMAC-SHA-256 truncated to 128 bits (RFC 4868 §2.3).
	DefaultDigestLen = 16
)

// SessionConfig is a crypto session's algorithm, direction and keys. Keys
// are copied into the device's session; the caller may wipe its slices
// after NewSession returns.
type SessionConfig struct {
	Algo CryptoAlgo
	Dir  CryptoDir
	// Key is the AES key: 16, 24 or 32 bytes. For AESGCM it excludes the
	// ESP salt, which goes in each job's nonce.
	Key []byte
	// AuthKey is AESCBCHMACSHA256's HMAC key, 1 to 64 bytes (RFC 4868
	// uses 32). Unused by AESGCM.
	AuthKey []byte
	// DigestLen is the ICV length; 0 means DefaultDigestLen.
	DigestLen int
	// AADLen is AESGCM's AAD length, 0 to CryptoAADMax: 8 in ESP, 12
	// with extended sequence numbers. Unused by AESCBCHMACSHA256.
	AADLen int
}

// digestLen is c.DigestLen with its default.
func (c *SessionConfig) digestLen() int {
	if c.DigestLen == 0 {
		return DefaultDigestLen
	}
	return c.DigestLen
}

// validate checks what does not depend on the device. The error never
// shows key bytes.
func (c *SessionConfig) validate() error {
	switch c.Algo {
	case AESGCM, AESCBCHMACSHA256:
	default:
		return fmt.Errorf("%w: algorithm %v: want aes-gcm or aes-cbc+sha2-256-hmac", ErrInvalid, c.Algo)
	}
	if c.Dir != Encrypt && c.Dir != Decrypt {
		return fmt.Errorf("%w: direction %d", ErrInvalid, c.Dir)
	}
	if n := len(c.Key); n != 16 && n != 24 && n != 32 {
		return fmt.Errorf("%w: %v key of %d bytes: want 16, 24 or 32", ErrInvalid, c.Algo, n)
	}
	if d := c.digestLen(); d < 1 || d > 32 {
		return fmt.Errorf("%w: %v digest of %d bytes: want 1 to 32", ErrInvalid, c.Algo, d)
	}
	if c.Algo == AESGCM {
		if c.AADLen < 0 || c.AADLen > CryptoAADMax {
			return fmt.Errorf("%w: aes-gcm AAD of %d bytes: want 0 to %d", ErrInvalid, c.AADLen, CryptoAADMax)
		}
		if len(c.AuthKey) != 0 {
			return fmt.Errorf("%w: aes-gcm takes no separate authentication key", ErrInvalid)
		}
		return nil
	}
	if n := len(c.AuthKey); n < 1 || n > CryptoAuthKeyMax {
		return fmt.Errorf("%w: sha2-256-hmac key of %d bytes: want 1 to %d", ErrInvalid, n, CryptoAuthKeyMax)
	}
	if c.AADLen != 0 {
		return fmt.Errorf("%w: aes-cbc+sha2-256-hmac takes no AAD (the ESP header is in the authenticated region)", ErrInvalid)
	}
	return nil
}

// CryptoStatus is a job's outcome after a run: DPDK's rte_crypto_op_status
// values, then the burst's own.
type CryptoStatus uint8

// Job statuses.
const (
	CryptoOK             CryptoStatus = 0  // done; on decryption, the ICV matched
	CryptoNotProcessed   CryptoStatus = 1  // the device did not process it
	CryptoAuthFailed     CryptoStatus = 2  // the ICV did not match (nothing decrypted)
	CryptoInvalidSession CryptoStatus = 3  // the session is not the device's
	CryptoInvalidArgs    CryptoStatus = 4  // the device rejected the op's parameters
	CryptoError          CryptoStatus = 5  // the device failed
	CryptoNoOp           CryptoStatus = 16 // the op pool was empty
	CryptoBadJob         CryptoStatus = 17 // no packet or session, or a region or the ICV outside the packet
	CryptoStuck          CryptoStatus = 18 // the device did not complete it in time
)

var cryptoStatusNames = map[CryptoStatus]string{
	CryptoOK: "ok", CryptoNotProcessed: "not-processed", CryptoAuthFailed: "auth-failed",
	CryptoInvalidSession: "invalid-session", CryptoInvalidArgs: "invalid-args", CryptoError: "error",
	CryptoNoOp: "no-op", CryptoBadJob: "bad-job", CryptoStuck: "stuck",
}

func (s CryptoStatus) String() string {
	if n, ok := cryptoStatusNames[s]; ok {
		return n
	}
	return fmt.Sprintf("CryptoStatus(%d)", uint8(s))
}

// SizeRange is a range of sizes a device accepts: Min to Max in steps of
// Step (Step 0: Min only).
type SizeRange struct{ Min, Max, Step int }

// Has reports whether n is in the range.
func (r SizeRange) Has(n int) bool {
	if n < r.Min || n > r.Max {
		return false
	}
	if r.Step == 0 {
		return n == r.Min
	}
	return (n-r.Min)%r.Step == 0
}

func (r SizeRange) String() string {
	switch {
	case r.Step == 0 || r.Min == r.Max:
		return fmt.Sprint(r.Min)
	case r.Step == 1:
		return fmt.Sprintf("%d-%d", r.Min, r.Max)
	}
	return fmt.Sprintf("%d-%d/%d", r.Min, r.Max, r.Step)
}

// CryptoXform is the kind of transform a capability describes.
type CryptoXform uint8

// Transform kinds (rte_crypto_sym_xform_type).
const (
	XformAuth   CryptoXform = 1
	XformCipher CryptoXform = 2
	XformAEAD   CryptoXform = 3
)

func (x CryptoXform) String() string {
	switch x {
	case XformAuth:
		return "auth"
	case XformCipher:
		return "cipher"
	case XformAEAD:
		return "aead"
	}
	return fmt.Sprintf("CryptoXform(%d)", uint8(x))
}

// CryptoCapability is one symmetric algorithm a crypto device does, with
// the sizes it accepts (rte_cryptodev_symmetric_capability).
type CryptoCapability struct {
	Xform     CryptoXform
	Algo      string // DPDK's name: "aes-gcm", "aes-cbc", "sha2-256-hmac", ...
	BlockSize int
	Key       SizeRange
	Digest    SizeRange // auth and AEAD
	AAD       SizeRange // auth and AEAD
	IV        SizeRange
}

func (c CryptoCapability) String() string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s %s key %s", c.Xform, c.Algo, c.Key)
	if c.Xform != XformCipher {
		fmt.Fprintf(&b, " digest %s", c.Digest)
	}
	if c.Xform == XformAEAD || c.AAD.Max > 0 {
		fmt.Fprintf(&b, " aad %s", c.AAD)
	}
	if c.IV.Max > 0 {
		fmt.Fprintf(&b, " iv %s", c.IV)
	}
	return b.String()
}

// CryptoInfo describes a crypto device.
type CryptoInfo struct {
	Driver        string // e.g. "crypto_aesni_gcm"
	MaxQueuePairs int
	MaxSessions   int    // 0: no limit
	Features      uint64 // RTE_CRYPTODEV_FF_* flags
	FeatureNames  []string
	Caps          []CryptoCapability
}

// Cap returns the device's capability for algorithm algo of kind x.
func (i *CryptoInfo) Cap(x CryptoXform, algo string) (CryptoCapability, bool) {
	for _, c := range i.Caps {
		if c.Xform == x && c.Algo == algo {
			return c, true
		}
	}
	return CryptoCapability{}, false
}

// CryptoCounters are a burst's counters.
type CryptoCounters struct {
	Runs       uint64 // runs with at least one job
	OK         uint64 // jobs that ended CryptoOK
	AuthFailed uint64 // jobs whose ICV did not match
	Errors     uint64 // jobs that ended in any other failure, bad jobs excepted
	NoOp       uint64 // runs whose op allocation failed (all their jobs fail)
	BadJobs    uint64 // jobs refused before the device (CryptoBadJob)
	EnqRetries uint64 // enqueues that took less than offered (queue full)
	Stuck      uint64 // ops the device kept past the spin limit (not freed)
}
