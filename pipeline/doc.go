// Package pipeline runs packets through offloadpmd: forwarding streams,
// the forward engines (testpmd's io, mac, macswap, rxonly, txonly), the
// per-lcore run loop and its counters.
//
// Each stream has one owner lcore. A burst moves through a stream in one
// direction: Poll (one cgo call that also sends the previous burst) →
// engine → Send or Drop. Every mbuf has one fate: sent, or freed and
// counted under a named reason.
package pipeline
