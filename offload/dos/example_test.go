package dos_test

import (
	"fmt"

	"github.com/offloadpmd/offloadpmd/offload/dos"
)

// A pipeline makes one Control from the configuration, one Filter per
// stream (lcore), and per burst judges the packets' first segments with
// the burst's time; it frees the packets whose verdict is not ReasonNone
// and counts them under their reason. The control plane calls Update.
func Example() {
	cfg := dos.DefaultConfig()
	cfg.Block = []string{"198.18.0.0/15"}
	ctl, err := dos.NewControl(cfg)
	if err != nil {
		fmt.Println(err)
		return
	}
	f := dos.NewFilter(ctl) // one per stream

	var pkts [][]byte // the burst's first segments (here: none)
	var lens []int    // their packet lengths; nil: len(pkts[i])
	verdicts := make([]dos.Reason, 32)
	var now int64 = 1_000_000 // a monotonic clock in ns, e.g. from the TSC
	passed := f.JudgeBurst(pkts, lens, now, verdicts)
	fmt.Println("passed", passed)

	// Counters, one per reason.
	st := f.Stats()
	for _, r := range dos.Reasons()[:3] {
		fmt.Printf("dos-%s %d\n", r, st.Dropped[r])
	}

	// A bad change is refused and changes nothing.
	cfg.SYN.Burst = 0
	fmt.Println(ctl.Update(cfg))
	// Output:
	// passed 0
	// dos-malformed 0
	// dos-land 0
	// dos-tcp-null-scan 0
	// dos: syn.burst: 0; want 1 to 1000000000 packets when rate is set
}
