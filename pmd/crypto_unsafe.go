package pmd

/*
#cgo LDFLAGS: -lrte_bus_vdev
#include "opmd_crypto.h"
*/
import "C"

import (
	"fmt"
	"os"
	"strings"
	"sync"
	"unsafe"
)

// CryptoBurstMax is the most jobs one CryptoBurst.Run takes.
const CryptoBurstMax = C.OPMD_CRYPTO_BURST_MAX

// The Go and C views must agree.
var (
	_ = [1]struct{}{}[CryptoIVMax-C.OPMD_CRYPTO_IV_MAX]
	_ = [1]struct{}{}[C.OPMD_CRYPTO_IV_MAX-CryptoIVMax]
	_ = [1]struct{}{}[CryptoAADMax-C.OPMD_CRYPTO_AAD_MAX]
	_ = [1]struct{}{}[C.OPMD_CRYPTO_AAD_MAX-CryptoAADMax]
	_ = [1]struct{}{}[CryptoKeyMax-C.OPMD_CRYPTO_KEY_MAX]
	_ = [1]struct{}{}[CryptoAuthKeyMax-C.OPMD_CRYPTO_AUTH_KEY_MAX]
	_ = [1]struct{}{}[CryptoAuthFailed-C.OPMD_CRYPTO_AUTH_FAILED]
	_ = [1]struct{}{}[C.OPMD_CRYPTO_AUTH_FAILED-CryptoAuthFailed]
	_ = [1]struct{}{}[CryptoNotProcessed-C.OPMD_CRYPTO_NOT_PROCESSED]
	_ = [1]struct{}{}[CryptoError-C.OPMD_CRYPTO_ERROR]
	_ = [1]struct{}{}[C.OPMD_CRYPTO_ERROR-CryptoError]
	_ = [1]struct{}{}[CryptoNoOp-C.OPMD_CRYPTO_NO_OP]
	_ = [1]struct{}{}[C.OPMD_CRYPTO_NO_OP-CryptoNoOp]
	_ = [1]struct{}{}[CryptoBadJob-C.OPMD_CRYPTO_BAD_JOB]
	_ = [1]struct{}{}[C.OPMD_CRYPTO_BAD_JOB-CryptoBadJob]
	_ = [1]struct{}{}[CryptoStuck-C.OPMD_CRYPTO_STUCK]
	_ = [1]struct{}{}[C.OPMD_CRYPTO_STUCK-CryptoStuck]
	_ = [1]struct{}{}[XformAEAD-C.RTE_CRYPTO_SYM_XFORM_AEAD]
	_ = [1]struct{}{}[C.RTE_CRYPTO_SYM_XFORM_AEAD-XformAEAD]
	_ = [1]struct{}{}[XformCipher-C.RTE_CRYPTO_SYM_XFORM_CIPHER]
	_ = [1]struct{}{}[XformAuth-C.RTE_CRYPTO_SYM_XFORM_AUTH]
)

// CryptoJob is one packet's crypto work in a CryptoBurst: a view of C's
// struct opmd_crypto_job, in C memory. Fill one per packet, then Run the
// burst; the packet is processed in place.
//
// Offsets count from the start of the packet's data (Mbuf.Data), across
// segments; the ICV must lie within one segment. For ESP (RFC 4303):
//
//	AES-GCM (RFC 4106): DataOff/DataLen are the payload after the IV up to
//	the ICV (the padded plaintext or ciphertext), AAD holds SPI and
//	sequence number (and ESN high bits), IV holds salt || explicit IV,
//	DigestOff is the ICV.
//	AES-CBC + HMAC-SHA-256: DataOff/DataLen are the ciphertext after the
//	IV, AuthOff/AuthLen the ESP header through the ciphertext (the ESN
//	high bits, when used, must be in the packet right after the
//	ciphertext and counted in AuthLen), IV holds the packet's IV,
//	DigestOff is the ICV.
type CryptoJob struct {
	Pkt       *Mbuf
	sess      unsafe.Pointer
	DataOff   uint32 // AEAD: region encrypted or decrypted; chain: region ciphered
	DataLen   uint32
	AuthOff   uint32 // chain only: region authenticated
	AuthLen   uint32
	DigestOff uint32 // the ICV: written on encryption, checked on decryption
	kind      uint8
	digestLen uint8
	status    CryptoStatus
	dev       uint8
	IV        [CryptoIVMax]byte  // the session's IVLen bytes are used
	AAD       [CryptoAADMax]byte // AEAD: the session's AADLen bytes are used
}

var (
	_ = [1]struct{}{}[unsafe.Sizeof(CryptoJob{})-C.OPMD_CRYPTO_JOB_SIZE]
	_ = [1]struct{}{}[C.OPMD_CRYPTO_JOB_SIZE-unsafe.Sizeof(CryptoJob{})]
	_ = [1]struct{}{}[unsafe.Offsetof(CryptoJob{}.sess)-C.OPMD_CRYPTO_JOB_OFF_SESS]
	_ = [1]struct{}{}[unsafe.Offsetof(CryptoJob{}.DataOff)-C.OPMD_CRYPTO_JOB_OFF_DATA_OFF]
	_ = [1]struct{}{}[unsafe.Offsetof(CryptoJob{}.DataLen)-C.OPMD_CRYPTO_JOB_OFF_DATA_LEN]
	_ = [1]struct{}{}[unsafe.Offsetof(CryptoJob{}.AuthOff)-C.OPMD_CRYPTO_JOB_OFF_AUTH_OFF]
	_ = [1]struct{}{}[unsafe.Offsetof(CryptoJob{}.AuthLen)-C.OPMD_CRYPTO_JOB_OFF_AUTH_LEN]
	_ = [1]struct{}{}[unsafe.Offsetof(CryptoJob{}.DigestOff)-C.OPMD_CRYPTO_JOB_OFF_DIGEST_OFF]
	_ = [1]struct{}{}[unsafe.Offsetof(CryptoJob{}.kind)-C.OPMD_CRYPTO_JOB_OFF_KIND]
	_ = [1]struct{}{}[unsafe.Offsetof(CryptoJob{}.digestLen)-C.OPMD_CRYPTO_JOB_OFF_DIGEST_LEN]
	_ = [1]struct{}{}[unsafe.Offsetof(CryptoJob{}.status)-C.OPMD_CRYPTO_JOB_OFF_STATUS]
	_ = [1]struct{}{}[unsafe.Offsetof(CryptoJob{}.dev)-C.OPMD_CRYPTO_JOB_OFF_DEV]
	_ = [1]struct{}{}[unsafe.Offsetof(CryptoJob{}.IV)-C.OPMD_CRYPTO_JOB_OFF_IV]
	_ = [1]struct{}{}[unsafe.Offsetof(CryptoJob{}.AAD)-C.OPMD_CRYPTO_JOB_OFF_AAD]
)

// SetSession makes the job use s (which must be of the burst's device;
// a job with another device's session fails as CryptoBadJob).
func (j *CryptoJob) SetSession(s *CryptoSession) {
	j.sess, j.kind, j.digestLen, j.dev = s.p, s.kind, s.digestLen, s.devID
}

// Status is the job's outcome after the last Run.
func (j *CryptoJob) Status() CryptoStatus { return j.status }

// CryptoDriverLoaded reports whether the crypto driver called name (e.g.
// "crypto_aesni_mb") is registered: its plugin was loaded by the EAL.
func CryptoDriverLoaded(name string) bool {
	cname := C.CString(name)
	defer C.free(unsafe.Pointer(cname))
	return C.rte_cryptodev_driver_id_get(cname) >= 0
}

// CryptoDevConfig describes a crypto device to open.
type CryptoDevConfig struct {
	// Name is the device: a vdev name that starts with its driver's,
	// e.g. "crypto_aesni_gcm0", "crypto_aesni_mb0", "crypto_openssl0".
	// A device of that name that already exists (from the EAL's --vdev)
	// is used; otherwise it is created.
	Name string
	// Args are the vdev's devargs after the name, e.g.
	// "max_nb_queue_pairs=4,socket_id=0"; only used when creating it.
	Args string
	// QueuePairs is one per lcore that will run bursts (default 1).
	QueuePairs int
	// Descriptors per queue pair (default 2048, dpdk-test-crypto-perf's).
	Descriptors int
	// Sessions is the session pool's size (default 1024).
	Sessions int
	// Socket is the NUMA socket of the pools and queue pairs; -1: the
	// device's.
	Socket int
}

// CryptoDev is a started DPDK crypto device (cryptodev) with its session
// and op pools. Its control methods are safe for concurrent use; each
// CryptoBurst belongs to one lcore.
type CryptoDev struct {
	id      uint8
	name    string
	socket  int
	qps     int
	info    CryptoInfo
	created bool // we created the vdev: Close removes it
	sessMp  *C.struct_rte_mempool
	opMp    *C.struct_rte_mempool

	mu       sync.Mutex
	sessions map[*CryptoSession]struct{}
	bursts   map[*CryptoBurst]struct{}
	qpUsed   []bool
}

var (
	cryptoMu   sync.Mutex
	cryptoOpen = map[uint8]*CryptoDev{}
)

// OpenCryptoVdev creates (or finds) the crypto device cfg names,
// configures its queue pairs and pools, and starts it.
func OpenCryptoVdev(cfg CryptoDevConfig) (*CryptoDev, error) {
	if !strings.HasPrefix(cfg.Name, "crypto_") || strings.ContainsAny(cfg.Name, ", ") {
		return nil, fmt.Errorf("crypto device %q: %w: want a vdev name such as crypto_aesni_gcm0, crypto_aesni_mb0 or crypto_openssl0, with devargs in Args", cfg.Name, ErrInvalid)
	}
	if cfg.QueuePairs == 0 {
		cfg.QueuePairs = 1
	}
	if cfg.Descriptors == 0 {
		cfg.Descriptors = 2048
	}
	if cfg.Sessions == 0 {
		cfg.Sessions = 1024
	}
	if cfg.QueuePairs < 1 || cfg.QueuePairs > 256 || cfg.Descriptors < 1 || cfg.Sessions < 1 {
		return nil, fmt.Errorf("crypto device %s: %w: %d queue pairs (1..256), %d descriptors, %d sessions",
			cfg.Name, ErrInvalid, cfg.QueuePairs, cfg.Descriptors, cfg.Sessions)
	}
	cryptoMu.Lock()
	defer cryptoMu.Unlock()
	cname, cargs := C.CString(cfg.Name), C.CString(cfg.Args)
	defer C.free(unsafe.Pointer(cname))
	defer C.free(unsafe.Pointer(cargs))
	var created C.int
	rc := C.opmd_crypto_vdev(cname, cargs, &created)
	if rc < 0 {
		err := rteError(fmt.Sprintf("crypto device %s: create vdev", cfg.Name), rc)
		if rc == -C.EINVAL || rc == -C.ENODEV || rc == -C.ENOENT {
			return nil, fmt.Errorf("%w: is the driver's plugin loaded (librte_crypto_ipsec_mb: crypto_aesni_mb, crypto_aesni_gcm; librte_crypto_openssl: crypto_openssl; the EAL loads Debian's by default, or give -d)?", err)
		}
		return nil, err
	}
	d := &CryptoDev{id: uint8(rc), name: cfg.Name, created: created != 0,
		sessions: map[*CryptoSession]struct{}{}, bursts: map[*CryptoBurst]struct{}{}}
	if _, busy := cryptoOpen[d.id]; busy {
		return nil, fmt.Errorf("crypto device %s: %w: already open", cfg.Name, ErrBusy)
	}
	if err := d.setup(cfg); err != nil {
		d.teardown()
		return nil, err
	}
	cryptoOpen[d.id] = d
	return d, nil
}

func (d *CryptoDev) op(what string) string { return fmt.Sprintf("crypto device %s: %s", d.name, what) }

// setup configures and starts the device; teardown undoes what it did.
func (d *CryptoDev) setup(cfg CryptoDevConfig) error {
	id := C.uint8_t(d.id)
	d.info = cryptoInfo(id)
	if cfg.QueuePairs > d.info.MaxQueuePairs {
		return fmt.Errorf("%s: %w: %d queue pairs asked, the device has %d (raise max_nb_queue_pairs in Args)",
			d.op("configure"), ErrInvalid, cfg.QueuePairs, d.info.MaxQueuePairs)
	}
	d.socket = cfg.Socket
	if d.socket < 0 {
		d.socket = int(C.rte_cryptodev_socket_id(id))
		if d.socket < 0 {
			d.socket = -1 // SOCKET_ID_ANY
		}
	}
	d.qps = cfg.QueuePairs
	d.qpUsed = make([]bool, d.qps)
	conf := C.struct_rte_cryptodev_config{socket_id: C.int(d.socket), nb_queue_pairs: C.uint16_t(d.qps),
		ff_disable: C.RTE_CRYPTODEV_FF_ASYMMETRIC_CRYPTO | C.RTE_CRYPTODEV_FF_SECURITY}
	if rc := C.rte_cryptodev_configure(id, &conf); rc < 0 {
		return rteError(d.op("configure"), rc)
	}
	var err C.int
	tag := fmt.Sprintf("%d_%d", d.id, os.Getpid()%100000)
	name := C.CString("ocs" + tag)
	elt := C.rte_cryptodev_sym_get_private_session_size(id)
	d.sessMp = C.opmd_crypto_sess_pool(name, C.uint(cfg.Sessions), elt, 0, C.int(d.socket), &err)
	C.free(unsafe.Pointer(name))
	if d.sessMp == nil {
		return rteError(d.op(fmt.Sprintf("session pool of %d x %d bytes", cfg.Sessions, elt)), err)
	}
	// A run holds at most CryptoBurstMax ops per queue pair; the rest
	// is room for the per-lcore caches.
	nops := d.qps*CryptoBurstMax*2 + 2048
	name = C.CString("oco" + tag)
	d.opMp = C.opmd_crypto_op_pool(name, C.uint(nops), 128, C.int(d.socket), &err)
	C.free(unsafe.Pointer(name))
	if d.opMp == nil {
		return rteError(d.op(fmt.Sprintf("op pool of %d", nops)), err)
	}
	for q := 0; q < d.qps; q++ {
		qc := C.struct_rte_cryptodev_qp_conf{nb_descriptors: C.uint32_t(cfg.Descriptors), mp_session: d.sessMp}
		if rc := C.rte_cryptodev_queue_pair_setup(id, C.uint16_t(q), &qc, C.int(d.socket)); rc < 0 {
			return rteError(d.op(fmt.Sprintf("queue pair %d setup (%d descriptors)", q, cfg.Descriptors)), rc)
		}
	}
	if rc := C.rte_cryptodev_start(id); rc < 0 {
		return rteError(d.op("start"), rc)
	}
	return nil
}

// cryptoInfo reads a device's driver, limits, features and capabilities.
func cryptoInfo(id C.uint8_t) CryptoInfo {
	var ci C.struct_rte_cryptodev_info
	C.rte_cryptodev_info_get(id, &ci)
	info := CryptoInfo{
		Driver: C.GoString(ci.driver_name), MaxQueuePairs: int(ci.max_nb_queue_pairs),
		MaxSessions: int(ci.sym.max_nb_sessions), Features: uint64(ci.feature_flags),
	}
	for bit := 0; bit < 64; bit++ {
		if info.Features&(1<<bit) == 0 {
			continue
		}
		if n := C.rte_cryptodev_get_feature_name(C.uint64_t(1) << bit); n != nil {
			info.FeatureNames = append(info.FeatureNames, C.GoString(n))
		}
	}
	caps := make([]C.struct_opmd_crypto_cap, 128)
	n := int(C.opmd_crypto_caps(id, &caps[0], C.int(len(caps))))
	for _, c := range caps[:min(n, len(caps))] {
		r := func(x C.struct_opmd_crypto_range) SizeRange {
			return SizeRange{Min: int(x.min), Max: int(x.max), Step: int(x.inc)}
		}
		algo := fmt.Sprintf("algo-%d", int(c.algo))
		if c.name != nil {
			algo = C.GoString(c.name)
		}
		info.Caps = append(info.Caps, CryptoCapability{
			Xform: CryptoXform(c.xform), Algo: algo, BlockSize: int(c.block_size),
			Key: r(c.key), Digest: r(c.digest), AAD: r(c.aad), IV: r(c.iv),
		})
	}
	return info
}

// ID is the device's cryptodev id.
func (d *CryptoDev) ID() uint8 { return d.id }

// Name is the device's name.
func (d *CryptoDev) Name() string { return d.name }

// Socket is the NUMA socket its pools are on (-1: any).
func (d *CryptoDev) Socket() int { return d.socket }

// QueuePairs is the number of queue pairs configured.
func (d *CryptoDev) QueuePairs() int { return d.qps }

// Info is the device's driver, limits and capabilities.
func (d *CryptoDev) Info() CryptoInfo { return d.info }

// sessConf flattens cfg for C. The caller wipes it.
func sessConf(cfg *SessionConfig) C.struct_opmd_crypto_sess_conf {
	var c C.struct_opmd_crypto_sess_conf
	c.key_len = C.uint16_t(len(cfg.Key))
	copy(unsafe.Slice((*byte)(unsafe.Pointer(&c.key[0])), len(c.key)), cfg.Key)
	c.iv_len = C.uint16_t(cfg.Algo.IVLen())
	c.digest_len = C.uint16_t(cfg.digestLen())
	if cfg.Dir == Encrypt {
		c.encrypt = 1
	}
	if cfg.Algo == AESGCM {
		c.kind = C.OPMD_CRYPTO_AEAD
		c.aead_algo = C.RTE_CRYPTO_AEAD_AES_GCM
		c.aad_len = C.uint16_t(cfg.AADLen)
		return c
	}
	c.kind = C.OPMD_CRYPTO_CHAIN
	c.cipher_algo = C.RTE_CRYPTO_CIPHER_AES_CBC
	c.auth_algo = C.RTE_CRYPTO_AUTH_SHA256_HMAC
	c.auth_key_len = C.uint16_t(len(cfg.AuthKey))
	copy(unsafe.Slice((*byte)(unsafe.Pointer(&c.auth_key[0])), len(c.auth_key)), cfg.AuthKey)
	return c
}

// wipe zeroes a session config's key bytes.
func wipe(c *C.struct_opmd_crypto_sess_conf) {
	clear(unsafe.Slice((*byte)(unsafe.Pointer(c)), unsafe.Sizeof(*c)))
}

// Supports checks cfg against the device's capabilities; the error wraps
// ErrNotSupported (or ErrInvalid for a config no device takes) and says
// what the device does accept.
func (d *CryptoDev) Supports(cfg SessionConfig) error {
	if err := cfg.validate(); err != nil {
		return fmt.Errorf("%s: %w", d.op("session"), err)
	}
	c := sessConf(&cfg)
	defer wipe(&c)
	var what C.int
	if C.opmd_crypto_check(C.uint8_t(d.id), &c, &what) == 0 {
		return nil
	}
	var x CryptoXform
	var algo, sizes string
	switch what {
	case 1, 2:
		x, algo = XformAEAD, "aes-gcm"
		sizes = fmt.Sprintf("key %d, digest %d, aad %d, iv %d", len(cfg.Key), cfg.digestLen(), cfg.AADLen, cfg.Algo.IVLen())
	case 3, 4:
		x, algo = XformCipher, "aes-cbc"
		sizes = fmt.Sprintf("key %d, iv %d", len(cfg.Key), cfg.Algo.IVLen())
	default:
		x, algo = XformAuth, "sha2-256-hmac"
		sizes = fmt.Sprintf("key %d, digest %d", len(cfg.AuthKey), cfg.digestLen())
	}
	capa, ok := d.info.Cap(x, algo)
	if !ok {
		return fmt.Errorf("%s: %w: %s %s not offered by %s", d.op("session"), ErrNotSupported, x, algo, d.info.Driver)
	}
	return fmt.Errorf("%s: %w: %s (%s) outside what %s takes: %s", d.op("session"), ErrNotSupported, algo, sizes, d.info.Driver, capa)
}

// CryptoSession is a session of one device: algorithm, direction and
// keys. Any number of jobs (of any burst of the device) may use it.
type CryptoSession struct {
	dev       *CryptoDev
	p         unsafe.Pointer
	kind      uint8
	digestLen uint8
	devID     uint8
	algo      CryptoAlgo
	dir       CryptoDir
	aadLen    int
}

// NewSession creates a session. The keys are copied into the device's
// session private data (and wiped from the intermediate copy).
func (d *CryptoDev) NewSession(cfg SessionConfig) (*CryptoSession, error) {
	if err := d.Supports(cfg); err != nil {
		return nil, err
	}
	c := sessConf(&cfg)
	defer wipe(&c)
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.sessMp == nil {
		return nil, fmt.Errorf("%s: %w: closed", d.op("session"), ErrInvalid)
	}
	var err C.int
	p := C.opmd_crypto_session(C.uint8_t(d.id), d.sessMp, &c, &err)
	if p == nil {
		return nil, rteError(d.op(fmt.Sprintf("%v %v session", cfg.Algo, cfg.Dir)), err)
	}
	s := &CryptoSession{dev: d, p: p, kind: uint8(c.kind), digestLen: uint8(c.digest_len), devID: d.id,
		algo: cfg.Algo, dir: cfg.Dir, aadLen: cfg.AADLen}
	d.sessions[s] = struct{}{}
	return s, nil
}

// Algo is the session's algorithm.
func (s *CryptoSession) Algo() CryptoAlgo { return s.algo }

// Dir is the session's direction.
func (s *CryptoSession) Dir() CryptoDir { return s.dir }

// DigestLen is the ICV length.
func (s *CryptoSession) DigestLen() int { return int(s.digestLen) }

// AADLen is the AEAD AAD length.
func (s *CryptoSession) AADLen() int { return s.aadLen }

// IVLen is the IV length the device reads from each job.
func (s *CryptoSession) IVLen() int { return s.algo.IVLen() }

// Close frees the session; no job may still use it.
func (s *CryptoSession) Close() {
	d := s.dev
	d.mu.Lock()
	defer d.mu.Unlock()
	if s.p == nil {
		return
	}
	C.rte_cryptodev_sym_session_free(C.uint8_t(d.id), s.p)
	s.p = nil
	delete(d.sessions, s)
}

// CryptoBurst runs jobs on one queue pair of a device: one cgo call per
// run. One lcore owns it (the queue pair is not shared): Jobs and Run are
// not safe for concurrent use; Counters may be read from anywhere.
type CryptoBurst struct {
	c    *C.struct_opmd_crypto_burst
	cu   C.uintptr_t // c as an integer, so cgo has no pointer to check per call
	jobs []CryptoJob
	dev  *CryptoDev
	qp   int
}

// NewBurst makes the burst for queue pair qp; each queue pair has one.
// Close frees it.
func (d *CryptoDev) NewBurst(qp int) (*CryptoBurst, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.opMp == nil {
		return nil, fmt.Errorf("%s: %w: closed", d.op("burst"), ErrInvalid)
	}
	if qp < 0 || qp >= d.qps {
		return nil, fmt.Errorf("%s: %w: queue pair %d, the device has 0..%d", d.op("burst"), ErrInvalid, qp, d.qps-1)
	}
	if d.qpUsed[qp] {
		return nil, fmt.Errorf("%s: %w: queue pair %d has a burst already", d.op("burst"), ErrBusy, qp)
	}
	c := (*C.struct_opmd_crypto_burst)(C.rte_zmalloc_socket(nil, C.sizeof_struct_opmd_crypto_burst, C.RTE_CACHE_LINE_SIZE, C.int(d.socket)))
	if c == nil {
		return nil, fmt.Errorf("%s: %w: rte_zmalloc of %d bytes", d.op("burst"), ErrNoMemory, C.sizeof_struct_opmd_crypto_burst)
	}
	c.dev_id, c.qp, c.op_pool = C.uint8_t(d.id), C.uint16_t(qp), d.opMp
	c.spin_max = 1 << 20
	b := &CryptoBurst{
		c: c, cu: C.uintptr_t(uintptr(unsafe.Pointer(c))), dev: d, qp: qp,
		jobs: unsafe.Slice((*CryptoJob)(unsafe.Pointer(&c.jobs[0])), CryptoBurstMax),
	}
	d.qpUsed[qp] = true
	d.bursts[b] = struct{}{}
	return b, nil
}

// Jobs is the burst's job array (CryptoBurstMax entries, in C memory):
// fill jobs[:n], then Run(n). Jobs keep their fields between runs.
func (b *CryptoBurst) Jobs() []CryptoJob { return b.jobs }

// QueuePair is the queue pair the burst runs on.
func (b *CryptoBurst) QueuePair() int { return b.qp }

// Run runs Jobs()[:n] (n is capped at CryptoBurstMax) and returns how
// many ended CryptoOK; each job's Status says how it ended. One cgo call:
// ops allocated in bulk, filled from the jobs, enqueued, dequeued until
// all are back (the software PMDs complete them within the call), ops
// freed in bulk.
func (b *CryptoBurst) Run(n int) int {
	b.c.n = C.uint16_t(min(max(n, 0), CryptoBurstMax))
	return int(C.opmd_crypto_run(b.cu))
}

// RunCPU runs Jobs()[:n] as Run does, with the same statuses and
// counters, through the device's synchronous CPU crypto API
// (rte_cryptodev_sym_cpu_crypto_process) instead of ops on the queue pair:
// no op allocation, enqueue, dequeue or free. The device must offer it
// (CryptoDev.CPUCrypto), and each job's regions and ICV must lie in its
// packet's first segment (CryptoBadJob otherwise). Consecutive jobs of one
// session and one layout (the distances between their regions) go to the
// device in one call.
func (b *CryptoBurst) RunCPU(n int) int {
	b.c.n = C.uint16_t(min(max(n, 0), CryptoBurstMax))
	return int(C.opmd_crypto_run_cpu(b.cu))
}

// CPUCrypto reports whether the device offers DPDK's synchronous CPU
// crypto API (RTE_CRYPTODEV_FF_SYM_CPU_CRYPTO), which CryptoBurst.RunCPU
// uses; the ipsec_mb devices (crypto_aesni_gcm, crypto_aesni_mb) do.
func (d *CryptoDev) CPUCrypto() bool {
	return d.info.Features&C.RTE_CRYPTODEV_FF_SYM_CPU_CRYPTO != 0
}

// Counters reads the burst's counters; safe from any goroutine.
func (b *CryptoBurst) Counters() CryptoCounters {
	c := b.c
	return CryptoCounters{
		Runs: load(&c.runs), OK: load(&c.jobs_ok), AuthFailed: load(&c.auth_failed),
		Errors: load(&c.errors), NoOp: load(&c.no_op), BadJobs: load(&c.bad_jobs),
		EnqRetries: load(&c.enq_retries), Stuck: load(&c.stuck),
	}
}

// Close frees the burst; its queue pair can have a new one.
func (b *CryptoBurst) Close() {
	d := b.dev
	d.mu.Lock()
	defer d.mu.Unlock()
	if b.c == nil {
		return
	}
	C.rte_free(unsafe.Pointer(b.c))
	b.c, b.jobs = nil, nil
	d.qpUsed[b.qp] = false
	delete(d.bursts, b)
}

// OpsInUse is how many of the device's ops are out of their pool: 0
// between runs, unless a device kept some (CryptoCounters.Stuck).
func (d *CryptoDev) OpsInUse() int {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.opMp == nil {
		return 0
	}
	return int(C.rte_mempool_in_use_count(d.opMp))
}

// Close frees the device's bursts and sessions, stops and closes it, frees
// its pools and, if OpenCryptoVdev created it, removes the vdev.
func (d *CryptoDev) Close() error {
	cryptoMu.Lock()
	defer cryptoMu.Unlock()
	if cryptoOpen[d.id] != d {
		return nil
	}
	d.mu.Lock()
	bursts := make([]*CryptoBurst, 0, len(d.bursts))
	for b := range d.bursts {
		bursts = append(bursts, b)
	}
	sessions := make([]*CryptoSession, 0, len(d.sessions))
	for s := range d.sessions {
		sessions = append(sessions, s)
	}
	d.mu.Unlock()
	for _, b := range bursts {
		b.Close()
	}
	for _, s := range sessions {
		s.Close()
	}
	delete(cryptoOpen, d.id)
	return d.teardown()
}

// teardown stops and closes the device, frees the pools and removes a
// vdev we created.
func (d *CryptoDev) teardown() error {
	id := C.uint8_t(d.id)
	C.rte_cryptodev_stop(id)
	var err error
	if rc := C.rte_cryptodev_close(id); rc < 0 {
		err = rteError(d.op("close"), rc)
	}
	d.mu.Lock()
	if d.opMp != nil {
		C.rte_mempool_free(d.opMp)
		d.opMp = nil
	}
	if d.sessMp != nil {
		C.rte_mempool_free(d.sessMp)
		d.sessMp = nil
	}
	d.mu.Unlock()
	if d.created {
		cname := C.CString(d.name)
		defer C.free(unsafe.Pointer(cname))
		if rc := C.rte_vdev_uninit(cname); rc < 0 && err == nil {
			err = rteError(d.op("remove vdev"), rc)
		}
	}
	return err
}
