package pipeline

import (
	"sync"
	"time"

	"github.com/rs/zerolog/log"

	"github.com/offloadpmd/offloadpmd/offload"
	"github.com/offloadpmd/offloadpmd/pmd"
)

// GuestHardwareTx is a vhost-user port's "hardware" TX capabilities for a
// guest that negotiated features, or, with no guest attached (attached
// false), for whichever guest attaches next: nothing is left to a guest
// before its features are known, so every packet it gets is complete.
// The port's other advertised capabilities (multi_segs, vlan_insert)
// stay.
func GuestHardwareTx(p *pmd.EthPort, features uint64, attached bool) offload.TxCaps {
	hw := offload.TxCaps(p.Info().TxOffloadCapa) &^ offload.VhostTaskCaps
	if attached {
		hw |= offload.VhostGuestTx(features)
	}
	return hw
}

// GuestWatch follows the guests of vhost-user ports: when one attaches,
// or reattaches with other features, its port's table is rebased on what
// the guest negotiated (GuestHardwareTx) and the change logged; when it
// goes, on nothing. Lcores see the new table at their next burst. The
// window in which a packet can leave with the previous guest's mapping is
// one poll interval after a reattach; before the first guest nothing is
// left to one.
type GuestWatch struct {
	tables *offload.Registry
	ports  []*pmd.EthPort
	stop   chan struct{}
	done   sync.WaitGroup

	mu   sync.Mutex
	seen map[uint16]guestState
}

type guestState struct {
	attached bool
	features uint64
}

// WatchGuests starts a GuestWatch over ports (those that are not
// net_vhost are ignored; nil if none is), polling every interval. It looks once before it
// returns, on the caller's goroutine; then, if serialize is not nil, each
// later look runs through it: DPDK's control functions are not safe
// against a port being reconfigured or closed at the same time, so an
// application runs them where its commands run (a look serialize refuses
// is skipped until the next interval).
func WatchGuests(tables *offload.Registry, ports []*pmd.EthPort, interval time.Duration, serialize func(func()) error) *GuestWatch {
	w := &GuestWatch{tables: tables, stop: make(chan struct{}), seen: map[uint16]guestState{}}
	for _, p := range ports {
		if p.IsVhost() {
			w.ports = append(w.ports, p)
		}
	}
	if len(w.ports) == 0 {
		return nil
	}
	w.Check()
	w.done.Add(1)
	go func() {
		defer w.done.Done()
		t := time.NewTicker(interval)
		defer t.Stop()
		for {
			select {
			case <-w.stop:
				return
			case <-t.C:
				if serialize == nil {
					w.Check()
				} else {
					_ = serialize(w.Check)
				}
			}
		}
	}()
	return w
}

// Check looks at every watched port once, now.
func (w *GuestWatch) Check() {
	w.mu.Lock()
	defer w.mu.Unlock()
	for _, p := range w.ports {
		f, ok := p.VhostGuestFeatures()
		now := guestState{attached: ok, features: f}
		if prev, known := w.seen[p.ID()]; known && prev == now {
			continue
		}
		w.seen[p.ID()] = now
		if w.tables.Load(p.ID()) == nil {
			continue
		}
		t, lost, err := w.tables.RebaseTx(p.ID(), GuestHardwareTx(p, f, ok))
		if err != nil {
			log.Error().Err(err).Uint16("port", p.ID()).Msg("vhost guest: table not rebased")
			continue
		}
		ev := log.Info().Uint16("port", p.ID()).Str("name", p.Name())
		if !ok {
			ev.Msg("vhost guest detached: nothing is left to a guest until the next one attaches")
			continue
		}
		var toGuest, inSW offload.TxCaps // of the tasks a guest may take
		for c := offload.TxCaps(1); c != 0; c <<= 1 {
			switch {
			case offload.VhostTaskCaps&c == 0:
			case t.TxBy(c) == offload.PerformHardware:
				toGuest |= c
			case t.TxBy(c) == offload.PerformSoftware:
				inSW |= c
			}
		}
		ev.Strs("negotiated", offload.VirtioFeatureNames(f)).Strs("left_to_guest", toGuest.Names()).Strs("software", inSW.Names())
		if lost != 0 {
			ev.Strs("disabled", lost.Names())
		}
		ev.Msg("vhost guest attached")
	}
}

// Features returns what the guest of port negotiated, as last seen.
func (w *GuestWatch) Features(port uint16) (features uint64, attached bool) {
	w.mu.Lock()
	defer w.mu.Unlock()
	s := w.seen[port]
	return s.features, s.attached
}

// Stop ends the watch.
func (w *GuestWatch) Stop() {
	close(w.stop)
	w.done.Wait()
}
