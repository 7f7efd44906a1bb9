package main

import (
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"math"
	"slices"
	"strconv"
	"strings"
)

// The columns a results CSV must have, by name, in any order; other
// columns (the scripts add "tool") are ignored.
var requiredColumns = []string{"bench", "case", "program", "run", "value", "unit"}

// errBadCSV is wrapped by every error about the content of a results CSV.
var errBadCSV = errors.New("bad results CSV")

// Measurement is one row of a results CSV: one run of one program on one
// case of one benchmark.
type Measurement struct {
	Bench   string
	Case    string
	Program string // "offloadpmd", "offloadpmd-MODE", or the reference
	Run     string // a run number, or a name such as "prof"
	Value   float64
	Unit    string // "Mpps", "Mseg/s", "Gbit/s", ...
	Line    int    // line in the file, for messages
}

// ParseCSV reads a results CSV: lines starting with '#' are comments, the
// first other line is the header. name is the file's name, used in errors,
// which say which line is wrong and why.
func ParseCSV(r io.Reader, name string) ([]Measurement, error) {
	cr := csv.NewReader(r)
	cr.Comment = '#'
	cr.FieldsPerRecord = 0 // every row as wide as the header
	cr.TrimLeadingSpace = true
	header, err := cr.Read()
	if err == io.EOF {
		return nil, fmt.Errorf("%s: %w: empty (no header line)", name, errBadCSV)
	}
	if err != nil {
		return nil, fmt.Errorf("%s: %w: %w", name, errBadCSV, err)
	}
	hline, _ := cr.FieldPos(0)
	col := make(map[string]int, len(header))
	for i, h := range header {
		col[strings.TrimSpace(h)] = i
	}
	for _, want := range requiredColumns {
		if _, ok := col[want]; !ok {
			return nil, fmt.Errorf("%s:%d: %w: header has no %q column (need %s)",
				name, hline, errBadCSV, want, strings.Join(requiredColumns, ","))
		}
	}
	var ms []Measurement
	for {
		rec, err := cr.Read()
		if err == io.EOF {
			break
		}
		if err != nil {
			// csv.ParseError carries the line already.
			return nil, fmt.Errorf("%s: %w: %w", name, errBadCSV, err)
		}
		line, _ := cr.FieldPos(0)
		field := func(c string) string { return strings.TrimSpace(rec[col[c]]) }
		m := Measurement{
			Bench: field("bench"), Case: field("case"), Program: field("program"),
			Run: field("run"), Unit: field("unit"), Line: line,
		}
		for _, c := range []string{"bench", "case", "program", "unit"} {
			if field(c) == "" {
				return nil, fmt.Errorf("%s:%d: %w: empty %s", name, line, errBadCSV, c)
			}
		}
		v, err := strconv.ParseFloat(field("value"), 64)
		if err != nil || math.IsNaN(v) || math.IsInf(v, 0) || v < 0 {
			return nil, fmt.Errorf("%s:%d: %w: value %q is not a non-negative number", name, line, errBadCSV, field("value"))
		}
		m.Value = v
		ms = append(ms, m)
	}
	if len(ms) == 0 {
		return nil, fmt.Errorf("%s: %w: no measurements after the header", name, errBadCSV)
	}
	return ms, nil
}

// Median of vs, the mean of the two middle values for an even count, as
// the bench scripts' awk computes it; 0 for none.
func Median(vs []float64) float64 {
	if len(vs) == 0 {
		return 0
	}
	s := slices.Clone(vs)
	slices.Sort(s)
	n := len(s)
	if n%2 == 1 {
		return s[n/2]
	}
	return (s[n/2-1] + s[n/2]) / 2
}

// Group is what one bar stands for: every run of one program on one case.
type Group struct {
	Case, Program, Unit string
	Runs                []float64
}

// Median of the group's runs.
func (g Group) Median() float64 { return Median(g.Runs) }

// Table is a results CSV arranged for plotting: cases and programs in the
// order they first appear, units in the order their first case appears.
type Table struct {
	Bench     string
	Units     []string
	Cases     map[string][]string // unit -> its cases
	Programs  []string
	Reference string // the program the others are divided by; "" if none
	groups    map[[2]string]*Group
}

// NewTable arranges ms. The reference is ref if not empty, otherwise the
// one program whose name does not start with "offloadpmd" (none if there is
// no such program; an error if there are several). A case measured in two
// units, or a file mixing benchmarks, is an error naming the line.
func NewTable(ms []Measurement, name, ref string) (*Table, error) {
	t := &Table{Bench: ms[0].Bench, Cases: map[string][]string{}, groups: map[[2]string]*Group{}}
	unitOf := map[string]string{}
	for _, m := range ms {
		if m.Bench != t.Bench {
			return nil, fmt.Errorf("%s:%d: %w: bench %q, but line %d says %q (one benchmark per file)",
				name, m.Line, errBadCSV, m.Bench, ms[0].Line, t.Bench)
		}
		u, seen := unitOf[m.Case]
		if !seen {
			unitOf[m.Case] = m.Unit
			if _, ok := t.Cases[m.Unit]; !ok {
				t.Units = append(t.Units, m.Unit)
			}
			t.Cases[m.Unit] = append(t.Cases[m.Unit], m.Case)
		} else if u != m.Unit {
			return nil, fmt.Errorf("%s:%d: %w: case %q in unit %q, earlier in %q", name, m.Line, errBadCSV, m.Case, m.Unit, u)
		}
		if !slices.Contains(t.Programs, m.Program) {
			t.Programs = append(t.Programs, m.Program)
		}
		k := [2]string{m.Case, m.Program}
		g := t.groups[k]
		if g == nil {
			g = &Group{Case: m.Case, Program: m.Program, Unit: m.Unit}
			t.groups[k] = g
		}
		g.Runs = append(g.Runs, m.Value)
	}
	if ref != "" {
		if !slices.Contains(t.Programs, ref) {
			return nil, fmt.Errorf("%s: reference program %q not in the file (programs: %s)", name, ref, strings.Join(t.Programs, ", "))
		}
		t.Reference = ref
		return t, nil
	}
	for _, p := range t.Programs {
		if strings.HasPrefix(p, "offloadpmd") {
			continue
		}
		if t.Reference != "" {
			return nil, fmt.Errorf("%s: two candidate reference programs, %q and %q: name one with -ref", name, t.Reference, p)
		}
		t.Reference = p
	}
	return t, nil
}

// Group of case c and program p, or nil if the file has no such run.
func (t *Table) Group(c, p string) *Group { return t.groups[[2]string{c, p}] }

// Ratio of program p's median to the reference's on case c; ok is false
// when either is missing or the reference's median is 0.
func (t *Table) Ratio(c, p string) (ratio float64, ok bool) {
	g, r := t.Group(c, p), t.Group(c, t.Reference)
	if g == nil || r == nil || p == t.Reference || r.Median() == 0 {
		return 0, false
	}
	return g.Median() / r.Median(), true
}
