// Command cryptobench measures package pmd's cryptodev bursts the way
// dpdk-test-crypto-perf --ptest throughput measures a crypto PMD (the DPDK
// anchors' crypto_perf.sh): one worker lcore (the first worker, lcore 1
// with -l 0-1), one queue pair, a fixed number of ops per buffer size, the
// same buffer sizes, burst, algorithms and key, IV, AAD and digest sizes.
//
// Per burst it does what an ESP stage will do with the engine: fill each
// job (packet, session, a fresh IV), then pmd.CryptoBurst.Run: one cgo
// call that allocates the ops in bulk, copies each job's IV and AAD into
// its op, enqueues, dequeues until all are back and frees the ops. Each
// buffer is encrypted in place at offset 0 with the digest right after
// it, as crypto-perf lays it out; Gbps counts the buffer (not the digest)
// as crypto-perf does. With --mbufs equal to the burst (the default) the
// same mbufs are reused burst after burst, as crypto-perf's op pool cache
// hands the same ops (and their mbufs) back.
//
// The output is crypto-perf's --csv rows plus a column of Go heap
// allocations while the loop ran, so scripts/bench-crypto.sh parses both
// alike. That count is process-wide: the loop itself allocates nothing
// (TestBenchRun, and pmd's TestCryptoRunAllocs), but the runtime starting
// a thread while it runs shows up as a handful. On stderr, per size, the
// figures again by the lcore thread's own CPU time, which leave out the
// time other processes took its CPU (this VM is shared and noisy):
//
//	cryptobench <EAL args> -- --devtype crypto_aesni_gcm --alg gcm \
//	    [--total-ops 1000000] [--buffer-sz 64,512,1500] [--burst-sz 32]
//
// gcm is AES-GCM encrypt with a 12-byte IV, 16 bytes of AAD and a 16-byte
// tag (crypto_perf.sh gcm); cbc is AES-CBC encrypt then HMAC-SHA-256
// generate with a 32-byte HMAC key and a 16-byte digest (crypto_perf.sh
// cbc; buffers must be multiples of 16).
package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"

	"github.com/rs/zerolog"

	"github.com/offloadpmd/offloadpmd/pmd"
)

const usage = `usage: cryptobench <EAL args> -- --devtype PMD --alg gcm|cbc [options]
example: cryptobench -l 0-1 --no-huge -m 1024 --no-pci -- --devtype crypto_aesni_gcm --alg gcm`

// args is the application half of the command line.
type args struct {
	devtype string
	alg     string
	keySz   int
	ops     int
	sizes   []int
	burst   int
	mbufs   int
}

// usageError is a bad command line: exit status 2 and the usage text.
type usageError struct{ msg string }

func (e *usageError) Error() string { return e.msg }

func usagef(format string, a ...any) error { return &usageError{fmt.Sprintf(format, a...)} }

// maxBuf is the largest buffer: it and its digest fit one default mbuf.
const maxBuf = 2048 - 16

// splitArgs splits argv (without the program name) at the first "--" into
// EAL arguments and the application's, and parses the latter.
func splitArgs(argv []string, stderr io.Writer) (eal []string, a args, err error) {
	i := -1
	for j, s := range argv {
		if s == "--" {
			i = j
			break
		}
	}
	if i < 0 {
		return nil, a, usagef("missing \"--\" between the EAL arguments and the options")
	}
	eal = argv[:i]
	fs := flag.NewFlagSet("cryptobench", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.StringVar(&a.devtype, "devtype", "", "crypto PMD: crypto_aesni_gcm, crypto_aesni_mb or crypto_openssl (a vdev of that name is created unless the EAL arguments have one)")
	fs.StringVar(&a.alg, "alg", "", "gcm (AES-GCM encrypt, AAD 16, tag 16) or cbc (AES-CBC encrypt + HMAC-SHA-256 generate, key 32, digest 16)")
	fs.IntVar(&a.keySz, "key-sz", 16, "AES key bytes: 16, 24 or 32")
	fs.IntVar(&a.ops, "total-ops", 1000000, "ops per buffer size")
	sizes := fs.String("buffer-sz", "", "buffer sizes, comma-separated (default 64,512,1500 for gcm, 64,512,1504 for cbc)")
	fs.IntVar(&a.burst, "burst-sz", 32, "jobs per burst, 1.."+strconv.Itoa(pmd.CryptoBurstMax))
	fs.IntVar(&a.mbufs, "mbufs", 0, "mbufs cycled through (default: the burst size)")
	if err := fs.Parse(argv[i+1:]); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return nil, a, usagef("")
		}
		return nil, a, usagef("%v", err)
	}
	if fs.NArg() > 0 {
		return nil, a, usagef("unexpected arguments: %s", strings.Join(fs.Args(), " "))
	}
	if !strings.HasPrefix(a.devtype, "crypto_") {
		return nil, a, usagef("--devtype %q: want a crypto PMD such as crypto_aesni_gcm, crypto_aesni_mb or crypto_openssl", a.devtype)
	}
	switch a.alg {
	case "gcm":
		if *sizes == "" {
			*sizes = "64,512,1500"
		}
	case "cbc":
		if *sizes == "" {
			*sizes = "64,512,1504"
		}
	default:
		return nil, a, usagef("--alg %q: want gcm or cbc", a.alg)
	}
	if a.keySz != 16 && a.keySz != 24 && a.keySz != 32 {
		return nil, a, usagef("--key-sz %d: want 16, 24 or 32", a.keySz)
	}
	if a.ops < 1 {
		return nil, a, usagef("--total-ops %d: want at least 1", a.ops)
	}
	if a.burst < 1 || a.burst > pmd.CryptoBurstMax {
		return nil, a, usagef("--burst-sz %d: want 1 to %d", a.burst, pmd.CryptoBurstMax)
	}
	if a.mbufs == 0 {
		a.mbufs = a.burst
	}
	if a.mbufs < a.burst || a.mbufs > 1<<20 {
		return nil, a, usagef("--mbufs %d: want the burst size (%d) to %d", a.mbufs, a.burst, 1<<20)
	}
	for _, s := range strings.Split(*sizes, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(s))
		if err != nil || n < 16 || n > maxBuf {
			return nil, a, usagef("--buffer-sz: %q: want sizes of 16 to %d bytes", s, maxBuf)
		}
		if a.alg == "cbc" && n%16 != 0 {
			return nil, a, usagef("--buffer-sz: %d: AES-CBC needs multiples of 16 (crypto_perf.sh uses 1504, not 1500)", n)
		}
		a.sizes = append(a.sizes, n)
	}
	return eal, a, nil
}

func main() {
	// Package pmd logs through zerolog; its debug lines are not wanted in
	// a benchmark's output.
	zerolog.SetGlobalLevel(zerolog.InfoLevel)
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

func run(argv []string, stdout, stderr io.Writer) int {
	ealArgs, a, err := splitArgs(argv, stderr)
	if err != nil {
		if err.Error() != "" {
			fmt.Fprintf(stderr, "cryptobench: %v\n", err)
		}
		fmt.Fprintln(stderr, usage)
		return 2
	}
	eal, err := pmd.Init(ealArgs)
	if err != nil {
		fmt.Fprintf(stderr, "cryptobench: %v (EAL arguments: %s)\n", err, strings.Join(ealArgs, " "))
		return 1
	}
	defer eal.Cleanup()
	workers := eal.Workers()
	if len(workers) == 0 {
		fmt.Fprintf(stderr, "cryptobench: no worker lcore: give the EAL two lcores (-l 0-1), as crypto-perf runs\n")
		return 1
	}
	b, err := newBench(a)
	if err != nil {
		fmt.Fprintf(stderr, "cryptobench: %v\n", err)
		return 1
	}
	defer b.close()
	fmt.Fprintf(stderr, "cryptobench: %s (%s), %s, %d ops per size, burst %d, %d mbufs, lcore %d\n",
		a.devtype, b.dev.Info().Driver, b.desc(), a.ops, a.burst, a.mbufs, workers[0])
	var res []result
	if err := eal.Launch(workers[0], func(uint) error {
		var err error
		res, err = b.runAll()
		return err
	}); err != nil {
		fmt.Fprintf(stderr, "cryptobench: %v\n", err)
		return 1
	}
	if err := eal.Wait(workers[0]); err != nil {
		fmt.Fprintf(stderr, "cryptobench: %v\n", err)
		return 1
	}
	fmt.Fprintln(stdout, csvHeader)
	for _, r := range res {
		fmt.Fprintln(stdout, r.csv(workers[0], a.burst))
		fmt.Fprintln(stderr, r.note())
	}
	if n := b.dev.OpsInUse(); n != 0 {
		fmt.Fprintf(stderr, "cryptobench: %d crypto ops not back in their pool\n", n)
		return 1
	}
	return 0
}
