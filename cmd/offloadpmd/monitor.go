package main

import (
	"bufio"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/mattn/go-isatty"
	"golang.org/x/sys/unix"

	"github.com/offloadpmd/offloadpmd/pipeline"
)

// monitor [<seconds>] [<count>]: rates per port and per task, redrawn in
// place on a terminal (printed one block after another otherwise), until
// Enter, a signal, or count refreshes.
func cmdMonitor(a *app, args []string) error {
	every, count := time.Second, 0
	if len(args) > 0 {
		n, _ := strconv.Atoi(args[0])
		every = time.Duration(n) * time.Second
	}
	if len(args) > 1 {
		count, _ = strconv.Atoi(args[1])
	}
	f, isFile := a.out.(*os.File)
	tty := isFile && isatty.IsTerminal(f.Fd())
	in, _ := a.stdin.(*os.File)
	if !tty || in == nil || !isatty.IsTerminal(in.Fd()) {
		in = nil // only a terminal's Enter stops it; a script gives count
		if count == 0 {
			count = 1
		}
	}
	prev := a.snapshot()
	lines := 0
	for n := 0; count == 0 || n < count; n++ {
		stop, err := a.monitorWait(in, every)
		if stop || err != nil {
			return err
		}
		cur := a.snapshot()
		var b strings.Builder
		writeMonitor(&b, prev, cur)
		if tty && lines > 0 {
			fmt.Fprintf(a.out, "\033[%dA\033[J", lines) // back to the top of the last block, clear below
		}
		io.WriteString(a.out, b.String())
		lines = strings.Count(b.String(), "\n")
		prev = cur
	}
	return nil
}

// monitorWait waits one period, serving readers' queries and the
// observers meanwhile; it reports stop on Enter (a line on in, consumed)
// and returns errQuit on a signal.
func (a *app) monitorWait(in *os.File, every time.Duration) (stop bool, err error) {
	deadline := time.Now().Add(every)
	for {
		left := time.Until(deadline)
		if left <= 0 {
			return false, nil
		}
		select {
		case <-a.signals:
			return true, errQuit
		case f := <-a.requests:
			f()
			continue
		default:
		}
		a.observe()
		wait := min(left, 100*time.Millisecond)
		if in == nil {
			time.Sleep(wait)
			continue
		}
		fds := []unix.PollFd{{Fd: int32(in.Fd()), Events: unix.POLLIN}}
		if n, _ := unix.Poll(fds, int(wait.Milliseconds())); n > 0 {
			_, _ = bufio.NewReader(in).ReadString('\n')
			return true, nil
		}
	}
}

// writeMonitor prints the rates between two snapshots.
func writeMonitor(w io.Writer, prev, cur snapshot) {
	secs := cur.At.Sub(prev.At).Seconds()
	if secs <= 0 {
		secs = 1
	}
	per := func(now, before uint64) float64 {
		if now < before {
			return 0
		}
		return float64(now-before) / secs
	}
	state := "stopped"
	if cur.Running {
		state = "forwarding"
	}
	fmt.Fprintf(w, "offloadpmd monitor  %s  engine %s, %s  (Enter stops)\n", cur.At.Format("15:04:05"), cur.Engine, state)
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintf(tw, "PORT\tNAME\tLINK\tRX-pps\tTX-pps\tRX-Mbps\tTX-Mbps\tmissed/s\terrors/s\t\n")
	for _, p := range cur.Ports {
		var q portSnapshot
		for _, o := range prev.Ports {
			if o.ID == p.ID {
				q = o
			}
		}
		link := "down"
		if p.LinkUp {
			link = "up"
		}
		fmt.Fprintf(tw, "%d\t%s\t%s\t%.0f\t%.0f\t%.1f\t%.1f\t%.0f\t%.0f\t\n", p.ID, p.Name, link,
			per(p.Stats.IPackets, q.Stats.IPackets), per(p.Stats.OPackets, q.Stats.OPackets),
			per(p.Stats.IBytes, q.Stats.IBytes)*8/1e6, per(p.Stats.OBytes, q.Stats.OBytes)*8/1e6,
			per(p.Stats.IMissed, q.Stats.IMissed), per(p.Stats.IErrors+p.Stats.OErrors, q.Stats.IErrors+q.Stats.OErrors))
	}
	_ = tw.Flush()
	fmt.Fprintln(w)
	tw = tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintf(tw, "TASK\tsoftware/s\thardware/s\trefused/s\t\n")
	before := taskRows(prev.Counters)
	for i, r := range taskRows(cur.Counters) {
		b := before[i]
		fmt.Fprintf(tw, "%s\t%.0f\t%.0f\t%.0f\t\n", r.Task, per(r.Software, b.Software), per(r.Hardware, b.Hardware), per(r.Refused, b.Refused))
	}
	_ = tw.Flush()
	// Drops by reason, only those moving.
	at := func(c []uint64, k pipeline.Counter) uint64 {
		if int(k) < len(c) {
			return c[k]
		}
		return 0
	}
	var drops []string
	for _, k := range pipeline.AllCounters() {
		if k.IsDrop() {
			if r := per(at(cur.Counters, k), at(prev.Counters, k)); r > 0 {
				drops = append(drops, fmt.Sprintf("%s %.0f/s", k, r))
			}
		}
	}
	if len(drops) > 0 {
		fmt.Fprintf(w, "\ndrops: %s\n", strings.Join(drops, ", "))
	}
}
