package main

import (
	"fmt"
	"runtime"
	"time"

	"golang.org/x/sys/unix"

	"github.com/offloadpmd/offloadpmd/pmd"
)

// csvHeader is dpdk-test-crypto-perf's throughput --csv header, plus our
// column.
const csvHeader = "# lcore id, Buffer Size(B), Burst Size,Enqueued,Dequeued,Failed Enq,Failed Deq,Ops(Millions),Throughput(Gbps),Cycles/Buf,Go mallocs"

// digestLen is both suites' ICV, as crypto_perf.sh asks (--digest-sz 16).
const digestLen = 16

// bench is one invocation's device, sessions, burst and mbufs.
type bench struct {
	a     args
	dev   *pmd.CryptoDev
	sess  *pmd.CryptoSession
	burst *pmd.CryptoBurst
	pool  *pmd.Mempool
	mbufs []*pmd.Mbuf
}

// sessionConfig is crypto_perf.sh's transform, with fixed keys (their
// bytes do not matter to throughput).
func sessionConfig(a args) pmd.SessionConfig {
	key := make([]byte, a.keySz)
	for i := range key {
		key[i] = byte(i + 1)
	}
	if a.alg == "gcm" {
		return pmd.SessionConfig{Algo: pmd.AESGCM, Dir: pmd.Encrypt, Key: key, DigestLen: digestLen, AADLen: 16}
	}
	ak := make([]byte, 32)
	for i := range ak {
		ak[i] = byte(0x40 + i)
	}
	return pmd.SessionConfig{Algo: pmd.AESCBCHMACSHA256, Dir: pmd.Encrypt, Key: key, AuthKey: ak, DigestLen: digestLen}
}

func newBench(a args) (b *bench, err error) {
	b = &bench{a: a}
	defer func() {
		if err != nil {
			b.close()
		}
	}()
	if !pmd.CryptoDriverLoaded(a.devtype) {
		return nil, fmt.Errorf("crypto driver %s is not loaded (its plugin is missing from DPDK's pmds directory, or give -d)", a.devtype)
	}
	if b.dev, err = pmd.OpenCryptoVdev(pmd.CryptoDevConfig{Name: a.devtype, Socket: -1}); err != nil {
		return nil, err
	}
	if b.sess, err = b.dev.NewSession(sessionConfig(a)); err != nil {
		return nil, err
	}
	if b.burst, err = b.dev.NewBurst(0); err != nil {
		return nil, err
	}
	b.pool, err = pmd.NewMempool(pmd.MempoolConfig{Name: "cryptobench_mp", Size: uint(max(a.mbufs+64, 1024)), Socket: -1})
	if err != nil {
		return nil, fmt.Errorf("mbuf pool: %w", err)
	}
	for range a.mbufs {
		m := b.pool.Alloc()
		if m == nil {
			return nil, fmt.Errorf("mbuf pool: %d mbufs wanted, %d available", a.mbufs, len(b.mbufs))
		}
		b.mbufs = append(b.mbufs, m)
	}
	return b, nil
}

// desc says what the session does.
func (b *bench) desc() string {
	if b.a.alg == "gcm" {
		return fmt.Sprintf("AES-%d-GCM encrypt, iv 12, aad 16, tag %d", b.a.keySz*8, digestLen)
	}
	return fmt.Sprintf("AES-%d-CBC encrypt + HMAC-SHA-256 generate, auth key 32, digest %d", b.a.keySz*8, digestLen)
}

func (b *bench) close() {
	for _, m := range b.mbufs {
		m.Free()
	}
	b.mbufs = nil
	if b.pool != nil {
		b.pool.Free()
		b.pool = nil
	}
	if b.dev != nil {
		b.dev.Close() // and its session and burst
		b.dev = nil
	}
}

// result is one buffer size's figures.
type result struct {
	size       int
	ops        uint64
	enqRetries uint64
	secs       float64 // wall-clock time, as crypto-perf measures
	cpuSecs    float64 // the lcore thread's CPU time: less the time others took it
	mallocs    uint64
}

// csv is crypto-perf's row for r: lcore, buffer size, burst, enqueued,
// dequeued, failed enqueues, failed dequeues, Mops, Gbps, cycles per
// buffer; then Go mallocs.
func (r result) csv(lcore uint, burst int) string {
	mops := float64(r.ops) / r.secs / 1e6
	return fmt.Sprintf("%d,%d,%d,%d,%d,%d,0,%.4f,%.4f,%.2f,%d", lcore, r.size, burst, r.ops, r.ops, r.enqRetries,
		mops, mops*1e6*float64(r.size)*8/1e9, r.secs*float64(pmd.TSCHz())/float64(r.ops), r.mallocs)
}

// runAll runs every buffer size in turn. Call it on the worker lcore.
func (b *bench) runAll() ([]result, error) {
	var out []result
	for _, size := range b.a.sizes {
		r, err := b.run(size, uint64(b.a.ops))
		if err != nil {
			return out, fmt.Errorf("buffer size %d: %w", size, err)
		}
		out = append(out, r)
	}
	return out, nil
}

// run encrypts total buffers of size bytes in bursts and times it.
func (b *bench) run(size int, total uint64) (result, error) {
	r := result{size: size}
	for i, m := range b.mbufs {
		m.Reset()
		room := m.Room()
		if len(room) < size+digestLen {
			return r, fmt.Errorf("an mbuf holds %d bytes, %d needed", len(room), size+digestLen)
		}
		for k := range size {
			room[k] = byte(i + k)
		}
		m.SetFrame(size + digestLen)
	}
	burst, nm := b.a.burst, len(b.mbufs)
	jobs := b.burst.Jobs()[:burst]
	for i := range jobs {
		j := &jobs[i]
		*j = pmd.CryptoJob{DataLen: uint32(size), DigestOff: uint32(size)}
		if b.a.alg == "cbc" {
			j.AuthLen = uint32(size)
		}
		j.SetSession(b.sess)
		for k := range j.AAD {
			j.AAD[k] = byte(k)
		}
	}
	c0 := b.burst.Counters()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	mallocs := ms.Mallocs
	idx := 0
	var seq uint64
	c0cpu := threadCPU()
	t0 := time.Now()
	for r.ops < total {
		n := int(min(uint64(burst), total-r.ops))
		for i := range n {
			j := &jobs[i]
			j.Pkt = b.mbufs[idx]
			if idx++; idx == nm {
				idx = 0
			}
			// A fresh IV per packet, as ESP writes one (RFC 4106 §3.1).
			seq++
			j.IV[4], j.IV[5], j.IV[6], j.IV[7] = byte(seq>>56), byte(seq>>48), byte(seq>>40), byte(seq>>32)
			j.IV[8], j.IV[9], j.IV[10], j.IV[11] = byte(seq>>24), byte(seq>>16), byte(seq>>8), byte(seq)
		}
		if ok := b.burst.Run(n); ok != n {
			return r, fmt.Errorf("after %d ops: %d of %d jobs ok, the first failure %v", r.ops, ok, n, firstFailure(jobs[:n]))
		}
		r.ops += uint64(n)
	}
	r.secs = time.Since(t0).Seconds()
	r.cpuSecs = threadCPU() - c0cpu
	runtime.ReadMemStats(&ms)
	r.mallocs = ms.Mallocs - mallocs
	r.enqRetries = b.burst.Counters().EnqRetries - c0.EnqRetries
	return r, nil
}

// threadCPU is the calling thread's CPU time in seconds (the goroutine is
// locked to its lcore's thread).
func threadCPU() float64 {
	var ts unix.Timespec
	if unix.ClockGettime(unix.CLOCK_THREAD_CPUTIME_ID, &ts) != nil {
		return 0
	}
	return float64(ts.Nano()) / 1e9
}

// note is the stderr line for r: the wall-clock and on-CPU figures, which
// differ when other work shares the lcore's CPU (a noisy VM).
func (r result) note() string {
	g := func(secs float64) float64 { return float64(r.ops) * float64(r.size) * 8 / secs / 1e9 }
	return fmt.Sprintf("cryptobench: buf=%d ops=%d wall %.3f s (%.2f Gbps), on-CPU %.3f s (%.0f%%, %.2f Gbps by CPU time), go_mallocs=%d",
		r.size, r.ops, r.secs, g(r.secs), r.cpuSecs, 100*r.cpuSecs/r.secs, g(r.cpuSecs), r.mallocs)
}

func firstFailure(jobs []pmd.CryptoJob) pmd.CryptoStatus {
	for i := range jobs {
		if st := jobs[i].Status(); st != pmd.CryptoOK {
			return st
		}
	}
	return pmd.CryptoOK
}
