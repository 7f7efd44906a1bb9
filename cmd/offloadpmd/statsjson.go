package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"time"

	"github.com/rs/zerolog/log"
)

// statsDoc is what --stats-json writes: the same figures as the printed
// blocks.
type statsDoc struct {
	Time        time.Time   `json:"time"`
	Engine      string      `json:"engine"`
	Running     bool        `json:"running"`
	Ports       []nicReport `json:"ports,omitempty"` // the last periodic "NIC statistics" blocks
	Forward     fwdReport   `json:"forward"`
	Accumulated accumulated `json:"accumulated"`
}

type accumulated struct {
	RxPackets uint64 `json:"rx_packets"`
	RxDropped uint64 `json:"rx_dropped"`
	RxTotal   uint64 `json:"rx_total"`
	TxPackets uint64 `json:"tx_packets"`
	TxDropped uint64 `json:"tx_dropped"`
	TxTotal   uint64 `json:"tx_total"`
	RxNoMbuf  uint64 `json:"rx_nombufs"`
}

func accumulate(r fwdReport) accumulated {
	var a accumulated
	for _, p := range r.Ports {
		a.RxPackets += p.RxPackets
		a.RxDropped += p.RxDropped
		a.TxPackets += p.TxPackets
		a.TxDropped += p.TxDropped
		a.RxNoMbuf += p.RxNoMbuf
	}
	a.RxTotal, a.TxTotal = a.RxPackets+a.RxDropped, a.TxPackets+a.TxDropped
	return a
}

// writeStatsJSON replaces the --stats-json file, atomically.
func (a *app) writeStatsJSON() {
	if a.cfg.StatsJSON == "" {
		return
	}
	doc := statsDoc{Time: time.Now().UTC(), Engine: a.engine.Name, Ports: a.lastPeriodic}
	if a.fwd != nil {
		doc.Running = a.fwd.Running()
		doc.Forward = a.fwdReport()
		doc.Accumulated = accumulate(doc.Forward)
	}
	b, err := json.MarshalIndent(doc, "", "  ")
	if err != nil {
		log.Error().Err(err).Msg("stats json")
		return
	}
	tmp, err := os.CreateTemp(filepath.Dir(a.cfg.StatsJSON), ".stats-*.json")
	if err == nil {
		_, err = tmp.Write(append(b, '\n'))
		if cerr := tmp.Close(); err == nil {
			err = cerr
		}
		if err == nil {
			err = os.Rename(tmp.Name(), a.cfg.StatsJSON)
		}
		if err != nil {
			os.Remove(tmp.Name())
		}
	}
	if err != nil {
		log.Error().Err(err).Str("file", a.cfg.StatsJSON).Msg("cannot write --stats-json")
	}
}
