// Command grobench measures offloadpmd's GRO engine the way the DPDK anchors'
// gro_bench (anchors/gro/gro_bench.c) measures librte_gro: no ethdev, one
// lcore, and per burst the work net_pcap's infinite_rx and testpmd's csum
// engine would do around it:
//
//	allocate BURST mbufs from a pool in one bulk call,
//	copy BURST frames into them from an in-memory copy of the pcap,
//	parse their headers (offload/header),
//	grocsum: verify the IPv4 header and TCP/UDP checksums in software
//	         (offload/checksum), counting the bad ones, and hand GRO the
//	         verdicts (Input.L4Csum, Input.IPCsum) as RX flags would,
//	gro, grocsum: hand the burst to assembly.GRO over pmd.MbufStore, with
//	         Timeout 0 so that everything held leaves at the end of the
//	         burst (librte_gro's lightweight rte_gro_reassemble_burst),
//	free every output packet (whole chains) in one bulk call.
//
// copy does everything but GRO: the harness's own cost. The output line is
// gro_bench's, plus go_mallocs (Go heap allocations while the loop ran,
// which must be 0), so scripts/bench-offload.sh parses both alike:
//
//	grobench <EAL args> -- MODE PCAP SECONDS [BURST] [0]
//
// MODE is copy, gro or grocsum; BURST defaults to 32 (at most 512). The
// last argument is gro_bench's SEGSZ|FLUSH, which its gro modes ignore; it
// is accepted (as 0) so that both programs take the same command line.
// Run it on one lcore (-l 1): the loop runs on the EAL main lcore's thread.
package main

import (
	"errors"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"

	"github.com/gopacket/gopacket/layers"
	"github.com/gopacket/gopacket/pcapgo"
	"github.com/rs/zerolog"

	"github.com/offloadpmd/offloadpmd/pmd"
)

const usage = `usage: grobench <EAL args> -- MODE PCAP SECONDS [BURST] [0]
  MODE     copy (alloc + copy + parse + free), gro (+ GRO, both checksums
           trusted good, like offloadpmd --gro-no-verify) or grocsum (+ IPv4 and
           TCP/UDP checksums verified in software before GRO)
  PCAP     Ethernet pcap, loaded into memory once and replayed in a loop
  SECONDS  how long to run (> 0)
  BURST    packets per burst, 1..512 (default 32)
  0        gro_bench's SEGSZ|FLUSH argument: accepted for the same command
           line, must be 0 (no gro mode of gro_bench uses it)
example: grobench -l 1 --no-huge -m 2048 --no-pci -- grocsum gro_run32.pcap 10 32`

// args is the application half of the command line.
type args struct {
	mode  mode
	pcap  string
	secs  float64
	burst int
}

// usageError is a bad command line: exit status 2 and the usage text.
type usageError struct{ msg string }

func (e *usageError) Error() string { return e.msg }

func usagef(format string, a ...any) error { return &usageError{fmt.Sprintf(format, a...)} }

// splitArgs splits argv (without the program name) at the first "--" into
// EAL arguments and the application's, and parses the latter.
func splitArgs(argv []string) (eal []string, a args, err error) {
	i := -1
	for j, s := range argv {
		if s == "--" {
			i = j
			break
		}
		if s == "-h" || s == "--help" {
			return nil, a, usagef("")
		}
	}
	if i < 0 {
		return nil, a, usagef("missing \"--\" between the EAL arguments and MODE PCAP SECONDS")
	}
	eal, app := argv[:i], argv[i+1:]
	if len(app) < 3 || len(app) > 5 {
		return nil, a, usagef("want MODE PCAP SECONDS [BURST] [0] after \"--\", got %d argument(s): %s", len(app), strings.Join(app, " "))
	}
	if a.mode, err = parseMode(app[0]); err != nil {
		return nil, a, err
	}
	a.pcap = app[1]
	a.secs, err = strconv.ParseFloat(app[2], 64)
	if err != nil || !(a.secs > 0) || a.secs > 1e6 {
		return nil, a, usagef("SECONDS %q: want a positive number of seconds", app[2])
	}
	a.burst = 32
	if len(app) > 3 {
		a.burst, err = strconv.Atoi(app[3])
		if err != nil || a.burst < 1 || a.burst > pmd.BurstMax {
			return nil, a, usagef("BURST %q: want 1 to %d", app[3], pmd.BurstMax)
		}
	}
	if len(app) > 4 {
		if n, err := strconv.Atoi(app[4]); err != nil || n != 0 {
			return nil, a, usagef("%q after BURST: only 0 is accepted (gro_bench's SEGSZ|FLUSH, unused by the gro modes)", app[4])
		}
	}
	return eal, a, nil
}

// loadPcap reads every frame of an Ethernet pcap into one contiguous
// block (the frames back to back, as gro_bench's mallocs lay them out) and
// returns them and the longest frame's length.
func loadPcap(path string) (frames [][]byte, maxLen int, err error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, 0, fmt.Errorf("pcap: %w", err)
	}
	defer f.Close()
	r, err := pcapgo.NewReader(f)
	if err != nil {
		return nil, 0, fmt.Errorf("pcap %s: %w (only the classic pcap format is read, not pcapng)", path, err)
	}
	if lt := r.LinkType(); lt != layers.LinkTypeEthernet {
		return nil, 0, fmt.Errorf("pcap %s: link type %v, want Ethernet", path, lt)
	}
	var recs [][]byte
	total := 0
	for {
		data, _, err := r.ReadPacketData()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, 0, fmt.Errorf("pcap %s: frame %d: %w", path, len(recs)+1, err)
		}
		if len(data) == 0 {
			return nil, 0, fmt.Errorf("pcap %s: frame %d is empty", path, len(recs)+1)
		}
		recs = append(recs, data)
		total += len(data)
		maxLen = max(maxLen, len(data))
	}
	if len(recs) == 0 {
		return nil, 0, fmt.Errorf("pcap %s: no frames", path)
	}
	block := make([]byte, total)
	frames = make([][]byte, len(recs))
	off := 0
	for i, d := range recs {
		frames[i] = block[off : off+len(d) : off+len(d)]
		copy(frames[i], d)
		off += len(d)
	}
	return frames, maxLen, nil
}

func main() {
	// Package pmd logs through zerolog; its debug lines are not wanted in
	// a benchmark's output.
	zerolog.SetGlobalLevel(zerolog.InfoLevel)
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

func run(argv []string, stdout, stderr io.Writer) int {
	ealArgs, a, err := splitArgs(argv)
	if err != nil {
		if err.Error() != "" {
			fmt.Fprintf(stderr, "grobench: %v\n", err)
		}
		fmt.Fprintln(stderr, usage)
		return 2
	}
	// Everything that can be checked without DPDK is checked first.
	frames, maxLen, err := loadPcap(a.pcap)
	if err != nil {
		fmt.Fprintf(stderr, "grobench: %v\n", err)
		return 1
	}
	if _, err := dataRoom(maxLen); err != nil {
		fmt.Fprintf(stderr, "grobench: pcap %s: %v\n", a.pcap, err)
		return 1
	}
	eal, err := pmd.Init(ealArgs)
	if err != nil {
		fmt.Fprintf(stderr, "grobench: %v (EAL arguments: %s)\n", err, strings.Join(ealArgs, " "))
		return 1
	}
	defer eal.Cleanup()
	pool, err := newPool("grobench_mp", maxLen)
	if err != nil {
		fmt.Fprintf(stderr, "grobench: %v\n", err)
		return 1
	}
	defer pool.Free()
	b, err := newBench(a.mode, frames, a.burst, pool)
	if err != nil {
		fmt.Fprintf(stderr, "grobench: %v\n", err)
		return 1
	}
	var res result
	var lcore uint
	// The loop runs on the main lcore's thread: pinned by EAL to its CPU
	// and registered as that lcore, so the pool's per-lcore cache is used,
	// as in gro_bench (which runs on the thread that called rte_eal_init).
	eal.Do(func() {
		lcore = pmd.LcoreID()
		res, err = b.run(a.secs, 0)
	})
	b.close()
	if err != nil {
		fmt.Fprintf(stderr, "grobench: %v\n", err)
		return 1
	}
	fmt.Fprintln(stdout, res.line(a.mode, a.pcap, len(frames), a.burst))
	inUse := pool.InUse()
	fmt.Fprintf(stderr, "grobench: lcore %d (main %d); pool %d mbufs of %d bytes, %d in use after the final flush\n",
		lcore, eal.MainLcore(), pool.Size(), pool.DataRoom(), inUse)
	if inUse != 0 {
		fmt.Fprintf(stderr, "grobench: %d mbufs leaked\n", inUse)
		return 1
	}
	return 0
}
