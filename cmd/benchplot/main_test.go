package main

import (
	"bytes"
	"errors"
	"image/png"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

const sampleCSV = `# bench-io.sh 2026-01-01T00:00:00Z RUNS=3 DUR=10
bench,case,program,run,value,unit,tool
io,null,c-reference,1,33.1,Mop/s,testpmd
io,null,offloadpmd,1,30.0,Mop/s,offloadpmd
io,null,c-reference,2,33.5,Mop/s,testpmd
io,null,offloadpmd,2,31.0,Mop/s,offloadpmd
io,null,c-reference,3,32.9,Mop/s,testpmd
io,null,offloadpmd,3,29.0,Mop/s,offloadpmd
io,pcap,c-reference,1,58.0,Mop/s,testpmd
io,pcap,offloadpmd,1,54.0,Mop/s,offloadpmd
io,tso,c-reference,1,2.4,Mseg/h,testpmd
io,tso,offloadpmd,1,6.0,Mseg/h,offloadpmd
`

func TestParseCSV(t *testing.T) {
	ms, err := ParseCSV(strings.NewReader(sampleCSV), "x.csv")
	if err != nil {
		t.Fatal(err)
	}
	if len(ms) != 10 {
		t.Fatalf("got %d measurements, want 10", len(ms))
	}
	want := Measurement{Bench: "io", Case: "null", Program: "c-reference", Run: "1", Value: 33.1, Unit: "Mop/s", Line: 3}
	if ms[0] != want {
		t.Errorf("first row %+v, want %+v", ms[0], want)
	}
	// Columns are found by name, in any order, with spaces around.
	ms, err = ParseCSV(strings.NewReader("unit, value,run,program,case,bench\nMop/s, 1.5,1,offloadpmd,a,io\n"), "y.csv")
	if err != nil {
		t.Fatal(err)
	}
	if ms[0].Value != 1.5 || ms[0].Case != "a" || ms[0].Unit != "Mop/s" {
		t.Errorf("reordered columns: %+v", ms[0])
	}
}

func TestParseCSVErrors(t *testing.T) {
	const hdr = "bench,case,program,run,value,unit\n"
	for _, tc := range []struct {
		name, in, want string
	}{
		{"empty", "", "bad.csv: bad results CSV: empty"},
		{"only comments", "# nothing\n", "bad.csv: bad results CSV: empty"},
		{"no rows", hdr, "no measurements"},
		{"missing column", "bench,case,program,run,value\nio,a,b,1,2\n", `bad.csv:1: bad results CSV: header has no "unit" column`},
		{"missing column after comment", "# c\nbench,case,program,run,unit\n", `bad.csv:2: bad results CSV: header has no "value" column`},
		{"bad value", hdr + "io,a,offloadpmd,1,2.0,Mop/s\nio,a,c-reference,1,fast,Mop/s\n", `bad.csv:3: bad results CSV: value "fast" is not a non-negative number`},
		{"negative", hdr + "io,a,offloadpmd,1,-1,Mop/s\n", `bad.csv:2: bad results CSV: value "-1"`},
		{"NaN", hdr + "io,a,offloadpmd,1,NaN,Mop/s\n", `bad.csv:2: bad results CSV: value "NaN"`},
		{"short row", hdr + "io,a,offloadpmd,1,2\n", "bad.csv: bad results CSV: record on line 2: wrong number of fields"},
		{"empty case", hdr + "io,,offloadpmd,1,2,Mop/s\n", "bad.csv:2: bad results CSV: empty case"},
		{"bad quote", hdr + "io,\"a,offloadpmd,1,2,Mop/s\n", "bad.csv: bad results CSV:"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := ParseCSV(strings.NewReader(tc.in), "bad.csv")
			if err == nil {
				t.Fatalf("no error, want %q", tc.want)
			}
			if !errors.Is(err, errBadCSV) {
				t.Errorf("%v does not wrap errBadCSV", err)
			}
			if !strings.Contains(err.Error(), tc.want) {
				t.Errorf("error %q, want it to contain %q", err, tc.want)
			}
		})
	}
}

func TestMedian(t *testing.T) {
	for _, tc := range []struct {
		in   []float64
		want float64
	}{
		{nil, 0},
		{[]float64{3}, 3},
		{[]float64{3, 1, 2}, 2},
		{[]float64{4, 1, 3, 2}, 2.5},
		{[]float64{0, 5, 6}, 5},
	} {
		if got := Median(tc.in); got != tc.want {
			t.Errorf("Median(%v) = %v, want %v", tc.in, got, tc.want)
		}
	}
}

func TestTable(t *testing.T) {
	ms, err := ParseCSV(strings.NewReader(sampleCSV), "x.csv")
	if err != nil {
		t.Fatal(err)
	}
	tb, err := NewTable(ms, "x.csv", "")
	if err != nil {
		t.Fatal(err)
	}
	if tb.Reference != "c-reference" {
		t.Errorf("reference %q, want c-reference", tb.Reference)
	}
	if got := strings.Join(tb.Units, " "); got != "Mop/s Mseg/h" {
		t.Errorf("units %q", got)
	}
	if got := strings.Join(tb.Cases["Mop/s"], " "); got != "null pcap" {
		t.Errorf("Mop/s cases %q", got)
	}
	if got := tb.Group("null", "offloadpmd").Median(); got != 30 {
		t.Errorf("null offloadpmd median %v, want 30", got)
	}
	if r, ok := tb.Ratio("tso", "offloadpmd"); !ok || r != 2.5 {
		t.Errorf("tso ratio %v %v, want 2.5", r, ok)
	}
	if _, ok := tb.Ratio("tso", "c-reference"); ok {
		t.Error("the reference has a ratio to itself")
	}

	// Several programs not named offloadpmd*: -ref must say which.
	kernel := "bench,case,program,run,value,unit\nkernel,tcp,kernel-veth,1,40,Gop/s\nkernel,tcp,offloadpmd-gso,1,20,Gop/s\nkernel,tcp,other,1,1,Gop/s\n"
	ms, _ = ParseCSV(strings.NewReader(kernel), "k.csv")
	if _, err := NewTable(ms, "k.csv", ""); err == nil || !strings.Contains(err.Error(), "-ref") {
		t.Errorf("two references: error %v", err)
	}
	tb, err = NewTable(ms, "k.csv", "kernel-veth")
	if err != nil {
		t.Fatal(err)
	}
	if r, _ := tb.Ratio("tcp", "offloadpmd-gso"); r != 0.5 {
		t.Errorf("gso/veth = %v, want 0.5", r)
	}
	if _, err := NewTable(ms, "k.csv", "nope"); err == nil {
		t.Error("unknown -ref accepted")
	}

	// One benchmark per file; one unit per case.
	for _, bad := range []string{
		"bench,case,program,run,value,unit\nio,a,offloadpmd,1,1,Mop/s\noffload,a,offloadpmd,1,1,Mop/s\n",
		"bench,case,program,run,value,unit\nio,a,offloadpmd,1,1,Mop/s\nio,a,c-reference,1,1,Gop/s\n",
	} {
		ms, err := ParseCSV(strings.NewReader(bad), "m.csv")
		if err != nil {
			t.Fatal(err)
		}
		if _, err := NewTable(ms, "m.csv", ""); err == nil || !strings.HasPrefix(err.Error(), "m.csv:3:") {
			t.Errorf("mixed file: error %v, want one naming m.csv:3", err)
		}
	}
}

func TestRunWritesPNG(t *testing.T) {
	dir := t.TempDir()
	in := filepath.Join(dir, "bench-io.csv")
	if err := os.WriteFile(in, []byte(sampleCSV), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := run(in, "", "", ""); err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(filepath.Join(dir, "bench-io.png"))
	if err != nil {
		t.Fatal(err)
	}
	img, err := png.Decode(bytes.NewReader(b))
	if err != nil {
		t.Fatalf("not a PNG: %v", err)
	}
	if r := img.Bounds(); r.Dx() < 400 || r.Dy() < 400 {
		t.Errorf("image %v, too small for two panels", r)
	}
	if got, want := leadingComments([]byte(sampleCSV)), "bench-io.sh 2026-01-01T00:00:00Z RUNS=3 DUR=10"; got != want {
		t.Errorf("title %q, want %q", got, want)
	}
	if _, err := os.Stat(filepath.Join(dir, "bench-io.png.tmp")); !os.IsNotExist(err) {
		t.Errorf("temporary file left behind: %v", err)
	}

	// A bad CSV names itself and the line, and writes nothing.
	bad := filepath.Join(dir, "bad.csv")
	if err := os.WriteFile(bad, []byte("bench,case,program,run,value,unit\nio,a,offloadpmd,1,x,Mop/s\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	err = run(bad, "", "", "")
	if err == nil || !strings.HasPrefix(err.Error(), bad+":2:") {
		t.Errorf("bad CSV: error %v, want it to start with %s:2:", err, bad)
	}
	if _, err := os.Stat(filepath.Join(dir, "bad.png")); !os.IsNotExist(err) {
		t.Error("a PNG was written for a bad CSV")
	}
}

func TestWrap(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"short", "short"},
		{"aaa, bbb, ccc", "aaa,\nbbb,\nccc"},
		{"aaaaaaaaaaaa", "aaaaaaaaaaaa"},
		{"aa bb\ncc dd ee", "aa bb\ncc dd\nee"},
		{"a, b c d e", "a, b c\nd e"},
		{"abcd, e f g", "abcd,\ne f g"},
	} {
		if got := wrap(tc.in, 7); got != tc.want {
			t.Errorf("wrap(%q, 7) = %q, want %q", tc.in, got, tc.want)
		}
	}
}

func TestNiceCeil(t *testing.T) {
	for _, tc := range []struct{ in, want float64 }{
		{50.9, 60}, {1, 1}, {0.031, 0.04}, {8.1, 10}, {120, 120}, {2.2, 2.5},
	} {
		if got := niceCeil(tc.in); math.Abs(got-tc.want) > 1e-9*tc.want {
			t.Errorf("niceCeil(%v) = %v, want %v", tc.in, got, tc.want)
		}
	}
}
