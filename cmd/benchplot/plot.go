package main

import (
	"fmt"
	"image/color"
	"io"
	"math"
	"strings"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/font"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/text"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
	"gonum.org/v1/plot/vg/vgimg"
)

// Bar colours: offloadpmd's programs in blues and greens, the reference in
// grey, so the reference reads the same in every chart.
var (
	programColors  = []color.Color{color.RGBA{0x1f, 0x77, 0xb4, 0xff}, color.RGBA{0x2c, 0xa0, 0x2c, 0xff}, color.RGBA{0x94, 0x67, 0xbd, 0xff}, color.RGBA{0x17, 0xbe, 0xcf, 0xff}}
	referenceColor = color.RGBA{0x99, 0x99, 0x99, 0xff}
	dotColor       = color.RGBA{0x20, 0x20, 0x20, 0xff}
)

// Layout, in points.
const (
	panelHeight = 3.2 * vg.Inch
	caseWidth   = 1.25 * vg.Inch // per case along the x axis
	minWidth    = 7 * vg.Inch
	titleWidth  = 80 // characters on a title line
	labelSize   = 7  // median and ratio labels
	dpi         = 150
)

// WritePNG draws t: one panel per unit, a group of bars per case (each
// program's median), a dot per run, the median above each bar and, above
// the group, each program's ratio to the reference. title heads the image.
func WritePNG(w io.Writer, t *Table, title string) error {
	maxCases := 1
	for _, u := range t.Units {
		maxCases = max(maxCases, len(t.Cases[u]))
	}
	width := max(minWidth, caseWidth*vg.Length(maxCases+1)+1*vg.Inch)
	height := panelHeight * vg.Length(len(t.Units))
	plots := make([][]*plot.Plot, len(t.Units))
	for i, u := range t.Units {
		p, err := panel(t, u, width)
		if err != nil {
			return err
		}
		if i == 0 && title != "" {
			p.Title.Text = wrap(title, titleWidth) + "\n" + p.Title.Text
		}
		plots[i] = []*plot.Plot{p}
	}
	img := vgimg.NewWith(vgimg.UseWH(width, height), vgimg.UseDPI(dpi))
	dc := draw.New(img)
	tiles := draw.Tiles{Rows: len(t.Units), Cols: 1, PadTop: 4, PadBottom: 4, PadLeft: 4, PadRight: 8, PadY: 10}
	canvases := plot.Align(plots, tiles, dc)
	for i := range plots {
		plots[i][0].Draw(canvases[i][0])
	}
	if _, err := (vgimg.PngCanvas{Canvas: img}).WriteTo(w); err != nil {
		return fmt.Errorf("writing PNG: %w", err)
	}
	return nil
}

// panel is the chart of one unit's cases.
func panel(t *Table, unit string, width vg.Length) (*plot.Plot, error) {
	cases := t.Cases[unit]
	p := plot.New()
	p.Title.Text = fmt.Sprintf("%s, median of runs (dots: each run)", unit)
	if t.Reference != "" {
		p.Title.Text += fmt.Sprintf("; ratio = program / %s", t.Reference)
	}
	p.Y.Label.Text = unit
	p.Y.Min = 0
	p.NominalX(cases...)
	for _, c := range cases {
		if len(c) > 12 {
			p.X.Tick.Label.Rotation = math.Pi / 9
			p.X.Tick.Label.XAlign = draw.XRight
			p.X.Tick.Label.YAlign = draw.YCenter
			break
		}
	}
	// The legend sits top right, over an empty slot right of the last case.
	p.Legend.Top = true
	p.X.Min = -0.5 // half a slot left of the first case, as right of the last
	p.X.Max = float64(len(cases)) + 0.5

	nprog := len(t.Programs)
	slot := (width - 1*vg.Inch) / vg.Length(len(cases)+1)
	barW := min(0.45*vg.Inch, slot*0.75/vg.Length(nprog))
	ymax := 0.0
	ann := &annotations{table: t, cases: cases, barW: barW}
	ours := 0 // colour index among the programs that are not the reference
	for j, prog := range t.Programs {
		vals := make(plotter.Values, len(cases))
		var runs [][]float64
		for i, c := range cases {
			if g := t.Group(c, prog); g != nil {
				vals[i] = g.Median()
				runs = append(runs, g.Runs)
				for _, v := range g.Runs {
					ymax = max(ymax, v)
				}
			} else {
				runs = append(runs, nil)
			}
		}
		bar, err := plotter.NewBarChart(vals, barW)
		if err != nil {
			return nil, fmt.Errorf("bars of %s: %w", prog, err)
		}
		bar.LineStyle.Width = 0
		if prog == t.Reference {
			bar.Color = referenceColor
		} else {
			bar.Color = programColors[ours%len(programColors)]
			ours++
		}
		bar.Offset = barOffset(j, nprog, barW)
		p.Add(bar)
		p.Legend.Add(prog, bar)
		p.Add(&runDots{runs: runs, offset: bar.Offset})
		ann.bars = append(ann.bars, annotatedBar{program: prog, medians: vals, runs: runs, offset: bar.Offset})
	}
	p.Add(ann)
	if ymax == 0 {
		ymax = 1
	}
	// Room above the tallest bar for the labels and the legend.
	p.Y.Max = niceCeil(ymax * 1.35)
	return p, nil
}

// barOffset of program j of n: the group is centred on the case's tick.
func barOffset(j, n int, w vg.Length) vg.Length {
	return (vg.Length(j) - vg.Length(n-1)/2) * w
}

// runDots draws one dot per run over one program's bars.
type runDots struct {
	runs   [][]float64 // per case
	offset vg.Length
}

// Plot implements plot.Plotter.
func (d *runDots) Plot(c draw.Canvas, plt *plot.Plot) {
	trX, trY := plt.Transforms(&c)
	sty := draw.GlyphStyle{Color: dotColor, Radius: 1.6, Shape: draw.CircleGlyph{}}
	for i, rs := range d.runs {
		x := trX(float64(i)) + d.offset
		for _, v := range rs {
			c.DrawGlyph(sty, vg.Point{X: x, Y: trY(v)})
		}
	}
}

// DataRange implements plot.DataRanger.
func (d *runDots) DataRange() (xmin, xmax, ymin, ymax float64) {
	xmax = float64(len(d.runs) - 1)
	for _, rs := range d.runs {
		for _, v := range rs {
			ymax = max(ymax, v)
		}
	}
	return 0, xmax, 0, ymax
}

type annotatedBar struct {
	program string
	medians plotter.Values
	runs    [][]float64
	offset  vg.Length
}

// annotations writes each bar's median at its foot (above it if the bar is
// too short) and, above the group's highest bar or dot, the ratios to the
// reference.
type annotations struct {
	table *Table
	cases []string
	barW  vg.Length
	bars  []annotatedBar
}

// Plot implements plot.Plotter.
func (a *annotations) Plot(c draw.Canvas, plt *plot.Plot) {
	trX, trY := plt.Transforms(&c)
	sty := text.Style{
		Color:   color.Black,
		Font:    font.From(plot.DefaultFont, labelSize),
		Handler: plot.DefaultTextHandler,
		XAlign:  draw.XCenter,
		YAlign:  draw.YBottom,
	}
	lineH := sty.Font.Size * 1.2
	for i, cs := range a.cases {
		top := vg.Length(math.Inf(-1))
		for _, b := range a.bars {
			if b.runs[i] == nil {
				continue
			}
			x, base, barTop := trX(float64(i))+b.offset, trY(0), trY(b.medians[i])
			hi := barTop
			if barTop-base >= lineH+4 {
				in := sty
				in.Color = color.White
				c.FillText(in, vg.Point{X: x, Y: base + 3}, formatValue(b.medians[i]))
			} else {
				c.FillText(sty, vg.Point{X: x, Y: barTop + 2}, formatValue(b.medians[i]))
				hi = barTop + 2 + lineH
			}
			for _, v := range b.runs[i] {
				hi = max(hi, trY(v)+2)
			}
			top = max(top, hi+2)
		}
		if math.IsInf(float64(top), -1) {
			continue
		}
		for _, b := range a.bars {
			r, ok := a.table.Ratio(cs, b.program)
			if !ok {
				continue
			}
			label := fmt.Sprintf("%.2fx", r)
			if len(a.bars) > 2 {
				label = b.program + " " + label
			}
			c.FillText(sty, vg.Point{X: trX(float64(i)), Y: top + 1}, label)
			top += lineH
		}
	}
}

// formatValue with three significant digits or more.
func formatValue(v float64) string {
	switch {
	case v >= 100:
		return fmt.Sprintf("%.0f", v)
	case v >= 10:
		return fmt.Sprintf("%.1f", v)
	case v >= 1:
		return fmt.Sprintf("%.2f", v)
	default:
		return fmt.Sprintf("%.3f", v)
	}
}

// wrap breaks each line of s after a comma or a space so that no line is
// longer than width characters, where it can.
func wrap(s string, width int) string {
	var out []string
	for _, line := range strings.Split(s, "\n") {
		for len(line) > width {
			// After a comma if one is in the second half, else a space.
			cut := strings.LastIndexByte(line[:width], ',')
			if cut < width/2 {
				cut = strings.LastIndexAny(line[:width], ", ")
			}
			if cut <= 0 {
				break
			}
			out = append(out, strings.TrimRight(line[:cut+1], " "))
			line = strings.TrimLeft(line[cut+1:], " ")
		}
		out = append(out, line)
	}
	return strings.Join(out, "\n")
}

// niceCeil is the smallest of 1, 1.2, 1.5, 2, 2.5, 3, 4, 5, 6, 8 times a
// power of ten that is at least v (v > 0): a round top for the y axis.
func niceCeil(v float64) float64 {
	mag := math.Pow(10, math.Floor(math.Log10(v)))
	for _, m := range []float64{1, 1.2, 1.5, 2, 2.5, 3, 4, 5, 6, 8} {
		if m*mag >= v*(1-1e-9) {
			return m * mag
		}
	}
	return 10 * mag
}
