// Command benchplot draws a bench script's results CSV as a PNG: per case,
// a bar for each program's median (offloadpmd's and the reference's), a
// dot per run, and the ratio of each program to the reference.
//
//	benchplot [-o results/bench-io.png] [-title TEXT] [-ref PROGRAM] results/bench-io.csv
//
// The CSV is what scripts/bench-*.sh write into results/: '#' comment
// lines, a header naming at least the columns bench, case, program, run,
// value, unit, then one row per measurement. The leading comment lines
// (the scripts' date, host and settings) become the title. Cases with
// different units go into separate panels. The reference is the one program whose name does
// not start with "offloadpmd", unless -ref names it.
package main

import (
	"bufio"
	"bytes"
	"errors"
	"flag"
	"fmt"
	"os"
	"strings"
)

func main() {
	out := flag.String("o", "", "output PNG (default: the CSV's name with .png)")
	title := flag.String("title", "", "title above the chart (default: the CSV's leading '#' lines, or the benchmark and the CSV's name)")
	ref := flag.String("ref", "", "the reference program the ratios divide by (default: the one not named offloadpmd*)")
	flag.Usage = func() {
		fmt.Fprintln(os.Stderr, "usage: benchplot [-o out.png] [-title TEXT] [-ref PROGRAM] results.csv")
		flag.PrintDefaults()
	}
	flag.Parse()
	if flag.NArg() != 1 {
		flag.Usage()
		os.Exit(2)
	}
	if err := run(flag.Arg(0), *out, *title, *ref); err != nil {
		fmt.Fprintf(os.Stderr, "benchplot: %v\n", err)
		if errors.Is(err, errBadCSV) {
			os.Exit(2)
		}
		os.Exit(1)
	}
}

// run reads the CSV in, and writes the chart to out.
func run(in, out, title, ref string) error {
	if out == "" {
		out = strings.TrimSuffix(in, ".csv") + ".png"
	}
	b, err := os.ReadFile(in)
	if err != nil {
		return err
	}
	ms, err := ParseCSV(bytes.NewReader(b), in)
	if err != nil {
		return err
	}
	t, err := NewTable(ms, in, ref)
	if err != nil {
		return err
	}
	if title == "" {
		title = leadingComments(b)
	}
	if title == "" {
		title = fmt.Sprintf("%s (%s)", t.Bench, in)
	}
	// Write to a temporary name first: a failed run leaves no half PNG.
	tmp := out + ".tmp"
	w, err := os.Create(tmp)
	if err != nil {
		return err
	}
	if err := WritePNG(w, t, title); err != nil {
		w.Close()
		os.Remove(tmp)
		return err
	}
	if err := w.Close(); err != nil {
		os.Remove(tmp)
		return err
	}
	return os.Rename(tmp, out)
}

// leadingComments are the '#' lines before the header, without the '#',
// one per line.
func leadingComments(b []byte) string {
	var lines []string
	sc := bufio.NewScanner(bytes.NewReader(b))
	for sc.Scan() {
		l, ok := strings.CutPrefix(sc.Text(), "#")
		if !ok {
			break
		}
		lines = append(lines, strings.TrimSpace(l))
	}
	return strings.Join(lines, "\n")
}
