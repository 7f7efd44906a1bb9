package pipeline

import (
	"sync/atomic"
	"time"

	"golang.org/x/sys/unix"

	"github.com/offloadpmd/offloadpmd/pmd"
)

// Lcore is one forwarding lcore and the streams it owns.
type Lcore struct {
	ID      uint
	Streams []*Stream

	group *pmd.Group // the streams' C side, polled in one crossing

	_    [64]byte // keep stop off the neighbours' cache lines
	stop atomic.Bool
	_    [63]byte
}

// Idle back-off: after spinPolls empty rounds the lcore sleeps, starting
// at minSleep and doubling up to maxSleep, so a quiet port does not burn a
// core. Traffic resets it. maxSleep bounds the latency added when traffic
// resumes.
const (
	spinPolls = 1024
	minSleep  = 8 * time.Microsecond
	maxSleep  = 512 * time.Microsecond
)

type backoff struct {
	empty int
	sleep time.Duration
}

func (b *backoff) reset() { b.empty, b.sleep = 0, minSleep }

func (b *backoff) idle() {
	b.empty++
	if b.empty < spinPolls {
		return
	}
	ts := unix.NsecToTimespec(int64(b.sleep))
	_ = unix.Nanosleep(&ts, nil)
	b.sleep = min(b.sleep*2, maxSleep)
}

// run is the lcore's loop: poll every stream in one cgo call (which also
// frees and sends what the previous iteration decided), hand each stream's
// burst to the engine, back off when nothing arrived. On stop it flushes
// what the streams still hold.
func (l *Lcore) run(fwd func(*Stream, []*pmd.Mbuf), busyPoll bool) error {
	streams, g := l.Streams, l.group
	var b backoff
	b.reset()
	for !l.stop.Load() {
		if g.Poll() == 0 {
			if !busyPoll {
				b.idle()
			}
			continue
		}
		if b.empty != 0 {
			b.reset()
		}
		for _, s := range streams {
			if s.io.NbRx() > 0 {
				fwd(s, s.io.Rx())
			}
		}
	}
	for _, s := range streams {
		s.io.Flush()
	}
	return nil
}
