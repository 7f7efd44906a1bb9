package pipeline

// Counter names a per-stream counter kept by the pipeline (the pmd layer
// keeps RX, TX and TX-dropped itself).
type Counter int

// Pipeline counters. Drop reasons start with Drop.
const (
	// DropRuntFrame: a frame too short for the engine's header access
	// (shorter than an Ethernet header).
	DropRuntFrame Counter = iota
	// FreedRxOnly: received and freed by the rxonly engine, by design.
	FreedRxOnly
	// TxOnlyGenerated: packets built by the txonly engine.
	TxOnlyGenerated

	numCounters
)

var counterNames = [numCounters]string{
	DropRuntFrame:   "drop-runt-frame",
	FreedRxOnly:     "rxonly-freed",
	TxOnlyGenerated: "txonly-generated",
}

func (c Counter) String() string {
	if c < 0 || c >= numCounters {
		return "unknown"
	}
	return counterNames[c]
}

// IsDrop reports whether the counter counts packets dropped for a reason
// (as opposed to work done).
func (c Counter) IsDrop() bool { return c == DropRuntFrame }

// Counters lists every pipeline counter.
func Counters() []Counter {
	cs := make([]Counter, numCounters)
	for i := range cs {
		cs[i] = Counter(i)
	}
	return cs
}
