package pmd

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"runtime"
	"strings"
	"sync"
	"testing"

	"github.com/rs/zerolog"
)

// logRecord is one zerolog JSON line of a DPDK message.
type logRecord struct {
	Level     string `json:"level"`
	DPDK      string `json:"dpdk"`
	DPDKLevel string `json:"dpdk_level"`
	Message   string `json:"message"`
}

// captureDPDKLog sends DPDK's lines to a buffer for the test and returns a
// function that parses what arrived.
func captureDPDKLog(t *testing.T) func() []logRecord {
	t.Helper()
	needEAL(t)
	var buf bytes.Buffer
	l := zerolog.New(zerolog.SyncWriter(&buf))
	logSink.Store(&l)
	t.Cleanup(func() { logSink.Store(nil) })
	return func() []logRecord {
		t.Helper()
		var recs []logRecord
		sc := bufio.NewScanner(bytes.NewReader(buf.Bytes()))
		for sc.Scan() {
			var r logRecord
			if err := json.Unmarshal(sc.Bytes(), &r); err != nil {
				t.Fatalf("not a JSON record: %q: %v", sc.Text(), err)
			}
			recs = append(recs, r)
		}
		return recs
	}
}

func testLogType(t *testing.T) uint32 {
	t.Helper()
	id, err := dpdkLogRegister("opmd.logtest", 8) // RTE_LOG_DEBUG
	if err != nil {
		t.Fatal(err)
	}
	return id
}

// TestDPDKLogLevels logs through rte_log at every DPDK level and checks
// each line arrives as one zerolog record with the mapped level and the
// logtype's name (registered after the stream was installed).
func TestDPDKLogLevels(t *testing.T) {
	records := captureDPDKLog(t)
	typ := testLogType(t)
	cases := []struct {
		dpdk      uint32
		level     string
		dpdkLevel string
	}{
		{1, "error", "emerg"},
		{2, "error", "alert"},
		{3, "error", "crit"},
		{4, "error", ""},
		{5, "warn", ""},
		{6, "info", ""},
		{7, "info", ""},
		{8, "debug", ""},
	}
	for _, c := range cases {
		if rc := dpdkLog(c.dpdk, typ, fmt.Sprintf("  LOGTEST: level %d  \n", c.dpdk)); rc < 0 {
			t.Fatalf("rte_log level %d: %d", c.dpdk, rc)
		}
	}
	got := records()
	if len(got) != len(cases) {
		t.Fatalf("%d records for %d lines: %+v", len(got), len(cases), got)
	}
	for i, c := range cases {
		want := logRecord{Level: c.level, DPDK: "opmd.logtest", DPDKLevel: c.dpdkLevel, Message: fmt.Sprintf("LOGTEST: level %d", c.dpdk)}
		if got[i] != want {
			t.Errorf("DPDK level %d: got %+v, want %+v", c.dpdk, got[i], want)
		}
	}
}

// TestDPDKLogPieces checks a line written in pieces is one record with
// its first piece's level, and a line longer than the C buffer is cut.
func TestDPDKLogPieces(t *testing.T) {
	records := captureDPDKLog(t)
	typ := testLogType(t)
	runtime.LockOSThread() // the pieces assemble per thread
	defer runtime.UnlockOSThread()
	dpdkLog(5, typ, "first half, ")
	dpdkLog(8, typ, "second half\nnext line\n")
	long := strings.Repeat("x", 1500)
	dpdkLog(6, typ, long+"\n")
	got := records()
	want := []logRecord{
		{Level: "warn", DPDK: "opmd.logtest", Message: "first half, second half"},
		{Level: "debug", DPDK: "opmd.logtest", Message: "next line"},
		{Level: "info", DPDK: "opmd.logtest", Message: long[:1024]},
		{Level: "info", DPDK: "opmd.logtest", Message: long[1024:]},
	}
	if len(got) != len(want) {
		t.Fatalf("got %d records, want %d: %+v", len(got), len(want), got)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Errorf("record %d: got %+v, want %+v", i, got[i], want[i])
		}
	}
}

// TestDPDKLogThreads logs lines in pieces from several threads at once:
// every line must arrive whole, none mixed with another thread's.
func TestDPDKLogThreads(t *testing.T) {
	records := captureDPDKLog(t)
	typ := testLogType(t)
	const threads, lines = 6, 200
	var wg sync.WaitGroup
	start := make(chan struct{})
	for g := range threads {
		wg.Add(1)
		go func() {
			defer wg.Done()
			runtime.LockOSThread()
			defer runtime.UnlockOSThread()
			<-start
			for i := range lines {
				dpdkLog(6, typ, fmt.Sprintf("thread %d ", g))
				runtime.Gosched() // let the others write between pieces
				dpdkLog(6, typ, fmt.Sprintf("line %d ", i))
				runtime.Gosched()
				dpdkLog(6, typ, "end\n")
			}
		}()
	}
	close(start)
	wg.Wait()
	seen := map[string]bool{}
	for _, r := range records() {
		var g, i int
		if n, err := fmt.Sscanf(r.Message, "thread %d line %d end", &g, &i); n != 2 || err != nil || r.Level != "info" {
			t.Fatalf("mixed or broken record: %+v", r)
		}
		seen[r.Message] = true
	}
	if len(seen) != threads*lines {
		t.Fatalf("%d distinct lines arrived, want %d", len(seen), threads*lines)
	}
}

// TestDPDKLogFromEAL checks a message of DPDK's own: the EAL refusing a
// device its driver cannot attach.
func TestDPDKLogFromEAL(t *testing.T) {
	records := captureDPDKLog(t)
	if _, err := ProbeVdev("net_null_logtest0,bogus=1"); err == nil {
		t.Fatal("net_null took an unknown argument")
	}
	for _, r := range records() {
		if r.Message == "EAL: Driver cannot attach the device (net_null_logtest0)" {
			if r.Level != "error" || r.DPDK != "lib.eal" {
				t.Fatalf("got %+v, want level error, dpdk lib.eal", r)
			}
			return
		}
	}
	t.Fatalf("the EAL's message did not arrive: %+v", records())
}

// TestDPDKLogGlobalLevel checks zerolog's global level (offloadpmd's
// --log-level) filters DPDK's lines too.
func TestDPDKLogGlobalLevel(t *testing.T) {
	records := captureDPDKLog(t)
	typ := testLogType(t)
	old := zerolog.GlobalLevel()
	zerolog.SetGlobalLevel(zerolog.WarnLevel)
	dpdkLog(6, typ, "filtered out\n")
	dpdkLog(5, typ, "let through\n")
	zerolog.SetGlobalLevel(old)
	got := records()
	if len(got) != 1 || got[0].Message != "let through" {
		t.Fatalf("at warn got %+v, want only the warning", got)
	}
}

// TestDPDKLogNoAlloc: a line of a known logtype costs no allocation.
func TestDPDKLogNoAlloc(t *testing.T) {
	needEAL(t)
	typ := int(testLogType(t))
	l := zerolog.New(io.Discard)
	logSink.Store(&l)
	defer logSink.Store(nil)
	logLine(6, typ, "warm up") // reads the logtype's name
	if n := testing.AllocsPerRun(100, func() { logLine(4, typ, " EAL: something failed \n") }); n != 0 {
		t.Fatalf("%v allocations per line", n)
	}
}

func TestParseLogDumpLine(t *testing.T) {
	cases := []struct {
		line string
		id   int
		name string
		ok   bool
	}{
		{"id 0: lib.eal, level is info", 0, "lib.eal", true},
		{"id 33: pmd.net.null, level is debug", 33, "pmd.net.null", true},
		{"global log level is debug", 0, "", false},
		{"id x: lib.eal, level is info", 0, "", false},
		{"id 3: , level is info", 0, "", false},
		{"id 3: lib.eal", 0, "", false},
		{"", 0, "", false},
	}
	for _, c := range cases {
		id, name, ok := parseLogDumpLine(c.line)
		if id != c.id || name != c.name || ok != c.ok {
			t.Errorf("%q: got %d %q %v, want %d %q %v", c.line, id, name, ok, c.id, c.name, c.ok)
		}
	}
}
