package main

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/offloadpmd/offloadpmd/offload"
	"github.com/offloadpmd/offloadpmd/pipeline"
	"github.com/offloadpmd/offloadpmd/pmd"
)

// offloadpmd's commands on DPDK's telemetry socket, for dpdk-telemetry.py
// and any other client of the library:
//
//	/offloadpmd/caps,<port>  the port's capability table
//	/offloadpmd/stats        ports and their counters, engine, forwarding
//	/offloadpmd/tasks        tasks by performer, refusals and drops by name
//
// The handlers run on DPDK's telemetry threads; they read the app through
// one snapshot taken on the command goroutine (query), never directly.
// Telemetry has no booleans: flags are 0 or 1. Names telemetry does not
// allow in keys ('-') are written with '_' (pmd.TelKey).

// telCommand is one telemetry command: its name, its help (/help,<cmd>)
// and its handler.
type telCommand struct {
	cmd, help string
	fn        pmd.TelHandler
}

func (a *app) telemetryCommands() []telCommand {
	return []telCommand{
		{"/offloadpmd/caps", "Capability table of a port: per capability hardware, software, enabled, performed by. Parameter: port id", a.telCaps},
		{"/offloadpmd/stats", "Ports (name, driver, kernel TAP or not, link, counters), the forward engine and whether it runs", a.telStats},
		{"/offloadpmd/tasks", "Offload tasks done in software, left to hardware, refused; refusals and drops by reason", a.telTasks},
	}
}

// registerTelemetry registers offloadpmd's telemetry commands; the EAL is
// up.
func (a *app) registerTelemetry() error {
	for _, c := range a.telemetryCommands() {
		if err := a.eal.RegisterTelemetry(c.cmd, c.help, c.fn); err != nil {
			return err
		}
	}
	return nil
}

// telCaps answers /offloadpmd/caps,<port>: the table as `show port N
// offload --json` shows it, its capabilities keyed by direction and name.
func (a *app) telCaps(params string) (pmd.TelValue, error) {
	s, err := a.metricsSnapshot()
	if err != nil {
		return nil, err
	}
	arg := strings.TrimSpace(params)
	if arg == "" {
		return telBadPort("no port id given: ask /offloadpmd/caps,<port id>", s), nil
	}
	id, err := strconv.ParseUint(arg, 10, 16)
	var port *portSnapshot
	for i := range s.Ports {
		if err == nil && uint64(s.Ports[i].ID) == id {
			port = &s.Ports[i]
		}
	}
	if len(arg) > 24 {
		arg = arg[:24] + "..."
	}
	switch {
	case err != nil:
		return telBadPort(fmt.Sprintf("port id %+q is not a number", arg), s), nil
	case port == nil:
		return telBadPort(fmt.Sprintf("no port %d", id), s), nil
	case port.Table == nil:
		return nil, fmt.Errorf("port %d has no capability table yet", id)
	}
	return telTable(port.Table), nil
}

// telBadPort is the reply to a bad port id: the problem and the ports there
// are, in the text when they fit and always as valid_ports.
func telBadPort(problem string, s snapshot) *pmd.TelDict {
	ids := pmd.TelArray{}
	var list []string
	for _, p := range s.Ports {
		ids = append(ids, pmd.TelUint(p.ID))
		list = append(list, strconv.Itoa(int(p.ID)))
	}
	msg := problem + "; valid port ids: " + strings.Join(list, ", ")
	if len(msg) > 127 {
		msg = problem + "; valid port ids in valid_ports"
	}
	return (&pmd.TelDict{}).Add("error", pmd.TelString(msg)).Add("valid_ports", ids)
}

// telTable is a capability table: port, driver, MTU and table version, then
// "rx" and "tx", each a dict of capability name to its row.
func telTable(t *offload.Table) *pmd.TelDict {
	d := (&pmd.TelDict{}).
		Add("port", pmd.TelUint(t.Port)).
		Add("driver", pmd.TelString(t.Driver)).
		Add("mtu", pmd.TelUint(t.MTU)).
		Add("version", pmd.TelUint(t.Version))
	dirs := map[string]*pmd.TelDict{"rx": {}, "tx": {}}
	for _, e := range t.Entries() {
		dirs[e.Dir].Add(pmd.TelKey(e.Name), (&pmd.TelDict{}).
			Add("dir", pmd.TelString(e.Dir)).
			Add("name", pmd.TelString(e.Name)).
			Add("hardware", pmd.TelBool(e.Hardware)).
			Add("software", pmd.TelBool(e.Software)).
			Add("enabled", pmd.TelBool(e.Enabled)).
			Add("performed_by", pmd.TelString(e.Performer)))
	}
	return d.Add("rx", dirs["rx"]).Add("tx", dirs["tx"])
}

// telStats answers /offloadpmd/stats.
func (a *app) telStats(string) (pmd.TelValue, error) {
	s, err := a.metricsSnapshot()
	if err != nil {
		return nil, err
	}
	ports := &pmd.TelDict{}
	for _, p := range s.Ports {
		d := (&pmd.TelDict{}).
			Add("name", pmd.TelString(p.Name)).
			Add("driver", pmd.TelString(p.Driver)).
			Add("kernel", pmd.TelBool(p.Kernel))
		if p.Kernel {
			d.Add("netns", pmd.TelString(p.Netns))
		}
		d.Add("link_up", pmd.TelBool(p.LinkUp)).
			Add("ipackets", pmd.TelUint(p.Stats.IPackets)).
			Add("opackets", pmd.TelUint(p.Stats.OPackets)).
			Add("ibytes", pmd.TelUint(p.Stats.IBytes)).
			Add("obytes", pmd.TelUint(p.Stats.OBytes)).
			Add("imissed", pmd.TelUint(p.Stats.IMissed)).
			Add("ierrors", pmd.TelUint(p.Stats.IErrors)).
			Add("oerrors", pmd.TelUint(p.Stats.OErrors)).
			Add("rx_nombuf", pmd.TelUint(p.Stats.RxNoMbuf))
		ports.Add(strconv.Itoa(int(p.ID)), d)
	}
	return (&pmd.TelDict{}).
		Add("engine", pmd.TelString(s.Engine)).
		Add("forwarding", pmd.TelBool(s.Running)).
		Add("ports", ports), nil
}

// telTasks answers /offloadpmd/tasks: every task's software, hardware and
// refused counts (as `show offload stats` and the task metrics), then the
// refusal reasons and the other drop counters that are not zero, counted
// since the process started.
func (a *app) telTasks(string) (pmd.TelValue, error) {
	s, err := a.metricsSnapshot()
	if err != nil {
		return nil, err
	}
	at := func(c pipeline.Counter) uint64 {
		if int(c) < len(s.Counters) {
			return s.Counters[c]
		}
		return 0
	}
	tasks := &pmd.TelDict{}
	for _, r := range taskRows(s.Counters) {
		tasks.Add(pmd.TelKey(r.Task), (&pmd.TelDict{}).
			Add("software", pmd.TelUint(r.Software)).
			Add("hardware", pmd.TelUint(r.Hardware)).
			Add("refused", pmd.TelUint(r.Refused)))
	}
	refused, dropped := &pmd.TelDict{}, &pmd.TelDict{}
	isRefusal := map[pipeline.Counter]bool{}
	for _, r := range offload.Refusals() {
		isRefusal[pipeline.Refused(r)] = true
		if v := at(pipeline.Refused(r)); v != 0 {
			refused.Add(pmd.TelKey(r.String()), pmd.TelUint(v))
		}
	}
	for _, c := range pipeline.AllCounters() {
		if v := at(c); v != 0 && c.IsDrop() && !isRefusal[c] {
			dropped.Add(pmd.TelKey(c.String()), pmd.TelUint(v))
		}
	}
	return (&pmd.TelDict{}).
		Add("tasks", tasks).
		Add("refused", refused).
		Add("dropped", dropped), nil
}
