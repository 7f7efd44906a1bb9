package main

import (
	"errors"
	"fmt"
	"strconv"
	"strings"

	"github.com/rs/zerolog/log"

	"github.com/offloadpmd/offloadpmd/offload"
	"github.com/offloadpmd/offloadpmd/offload/classify"
	"github.com/offloadpmd/offloadpmd/pipeline"
	"github.com/offloadpmd/offloadpmd/pmd"
)

// Flow rules: testpmd's flow commands over the ports' rule sets
// (pipeline.Classifiers), and the config file's rules installed at
// startup. The syntax and its parser are offload/classify's; a wrong line
// is answered "Bad arguments:" with the parser's error, which names the
// token (counted from 1, "flow" being the first) and what may stand
// there. The output is testpmd 22.11's: "Flow rule #N created", "Flow
// rule validated", "Flow rule #N destroyed", the `flow list` table and
// the COUNT block of `flow query`. A port's rules apply while its table
// enables classify (port config <port> rx_offload classify on).

// Grammars of the flow commands, for help; the handler parses the line.
const (
	flowRuleArgs    = "<port> [group <n>] [priority <n>] ingress|egress pattern <item> [<field> is|spec|last|mask|prefix <value>]... / ... / end actions <action> [<arg> <value>]... / ... / end"
	flowDestroyArgs = "<port> rule <rule_id> [rule <rule_id>]..."
)

// flowCommands are the flow rows of the command table.
func flowCommands() []command {
	row := func(op, args, help string) command {
		return command{words: "flow " + op, args: args, help: help, run: flowRun(op), own: true, complete: flowComplete}
	}
	return []command{
		row("create", flowRuleArgs, "add a flow rule: items eth vlan ipv4 ipv6 tcp udp icmp; actions drop, count, mark id N, queue index N, rss, passthru, and tasks esp sa N, digest, tso segsz N, csum"),
		row("validate", flowRuleArgs, "check a flow rule without adding it"),
		row("destroy", flowDestroyArgs, "delete flow rules"),
		row("flush", "<port>", "delete every flow rule of a port"),
		row("list", "<port> [group <group>]...", "a port's flow rules"),
		row("query", "<port> <rule_id> count", "hits and bytes a rule's count action counted since it was created"),
	}
}

// flows is the forwarder's rule base.
func (a *app) flows() (*pipeline.Classifiers, error) {
	if a.off == nil || a.off.Flows == nil {
		return nil, errors.New("flow rules are not set up")
	}
	return a.off.Flows, nil
}

// flowRun is the handler of `flow <op>`: it parses the whole line.
func flowRun(op string) func(a *app, args []string) error {
	return func(a *app, args []string) error {
		cmd, err := classify.ParseCommand("flow " + op + " " + strings.Join(args, " "))
		if err == nil {
			err = a.flowPort(cmd.Port)
		}
		if err != nil {
			a.printf("Bad arguments: %v\n", err)
			return nil
		}
		fl, err := a.flows()
		if err != nil {
			return err
		}
		switch cmd.Op {
		case classify.OpCreate, classify.OpValidate:
			return a.flowCreate(fl, cmd)
		case classify.OpDestroy:
			for _, id := range fl.Destroy(cmd.Port, cmd.IDs...) {
				a.printf("Flow rule #%d destroyed\n", id)
				log.Info().Uint16("port", cmd.Port).Uint32("rule", uint32(id)).Msg("flow destroyed")
			}
		case classify.OpFlush:
			fl.Flush(cmd.Port)
			log.Info().Uint16("port", cmd.Port).Msg("flow rules flushed")
		case classify.OpList:
			a.printf("%s\n", classify.ListHeader)
			for _, r := range fl.List(cmd.Port, cmd.Groups...) {
				a.printf("%s\n", r.ListLine())
			}
		case classify.OpQuery:
			c, err := fl.Query(cmd.Port, cmd.IDs[0])
			switch {
			case errors.Is(err, pipeline.ErrNoRule):
				a.printf("Flow rule #%d not found\n", cmd.IDs[0])
			case err != nil:
				return err
			default:
				a.printf("COUNT:\n hits_set: 1\n bytes_set: 1\n hits: %d\n bytes: %d\n", c.Hits, c.Bytes)
			}
		}
		return nil
	}
}

// flowPort checks a flow line's port (token 3).
func (a *app) flowPort(port uint16) error {
	for _, id := range a.knownPorts() {
		if id == port {
			return nil
		}
	}
	return &classify.SyntaxError{Pos: 3, Token: strconv.Itoa(int(port)), Msg: "invalid port; the valid ports are " + portList(a.knownPorts())}
}

// flowCreate creates or validates cmd's rule.
func (a *app) flowCreate(fl *pipeline.Classifiers, cmd classify.Command) error {
	r := cmd.Rule
	err := pipeline.Check(r)
	if err == nil {
		err = a.off.CheckRule(cmd.Port, r)
	}
	if err == nil {
		err = a.checkQueues(cmd.Port, r)
	}
	if err != nil {
		return err
	}
	if cmd.Op == classify.OpValidate {
		a.printf("Flow rule validated\n")
		return nil
	}
	ids, err := fl.Create(cmd.Port, r)
	if err != nil {
		return err
	}
	a.printf("Flow rule #%d created\n", ids[0])
	log.Info().Uint16("port", cmd.Port).Uint32("rule", uint32(ids[0])).Str("rule_text", r.String()).Msg("flow created")
	if t := a.tables.Load(cmd.Port); t == nil || t.RxBy(offload.RxClassify) == offload.PerformNone {
		a.printf("Port %d does not classify yet (port config %d rx_offload classify on)\n", cmd.Port, cmd.Port)
	}
	return nil
}

// checkQueues refuses a queue action naming a queue the port does not
// have.
func (a *app) checkQueues(port uint16, r *classify.Rule) error {
	n := int(a.cfg.RxQueues)
	if p := a.port(port); p != nil {
		n = int(p.NbRxQueues())
	} else if t := pmd.TapByID(port); t != nil {
		n = t.Queues()
	}
	for _, x := range r.Actions {
		if x.Type == classify.ActionQueue && int(x.Value) >= n {
			return fmt.Errorf("queue index %d: port %d has %d RX queue%s", x.Value, port, n, plural(n))
		}
		if x.Type == classify.ActionRSS && x.RSS != nil {
			for _, q := range x.RSS.Queues {
				if int(q) >= n {
					return fmt.Errorf("rss queues: queue %d: port %d has %d RX queue%s", q, port, n, plural(n))
				}
			}
		}
	}
	return nil
}

// flowComplete lists what may follow a flow line's typed words: the
// parser's keywords, port ids, or the port's rule IDs.
func flowComplete(a *app, typed []string) []string {
	c := classify.Complete(typed)
	out := c.Words
	switch c.Value {
	case "<port>":
		for _, id := range a.knownPorts() {
			out = append(out, strconv.Itoa(int(id)))
		}
	case "<rule id>":
		if len(typed) < 3 || a.off == nil || a.off.Flows == nil {
			break
		}
		port, err := strconv.ParseUint(typed[2], 10, 16)
		if err != nil {
			break
		}
		for _, r := range a.off.Flows.List(uint16(port)) {
			out = append(out, strconv.Itoa(int(r.ID)))
		}
	}
	return out
}

// installRules makes the rule base and adds the config file's rules, port
// by port in the file's order, after the SAs and digests they may name.
func (a *app) installRules() error {
	a.off.Flows = pipeline.NewClassifiers(nil)
	byPort := map[uint16][]*classify.Rule{}
	var ports []uint16
	for _, s := range a.cfg.Rules {
		where := fmt.Sprintf("--config %s:%d: rules.%d", a.cfg.ConfigFile, s.Line, s.Port)
		if a.port(s.Port) == nil && pmd.TapByID(s.Port) == nil {
			return fmt.Errorf("%s: there is no port %d", where, s.Port)
		}
		err := a.off.CheckRule(s.Port, s.Rule)
		if err == nil {
			err = a.checkQueues(s.Port, s.Rule)
		}
		if err != nil {
			return fmt.Errorf("%s: %w", where, err)
		}
		if byPort[s.Port] == nil {
			ports = append(ports, s.Port)
		}
		byPort[s.Port] = append(byPort[s.Port], s.Rule)
	}
	for _, p := range ports {
		if _, err := a.off.Flows.Create(p, byPort[p]...); err != nil {
			return fmt.Errorf("--config %s: rules.%d: %w", a.cfg.ConfigFile, p, err)
		}
		log.Info().Uint16("port", p).Int("rules", len(byPort[p])).Msg("flow rules installed")
		if t := a.tables.Load(p); t == nil || t.RxBy(offload.RxClassify) == offload.PerformNone {
			log.Warn().Uint16("port", p).Msg("flow rules on a port that does not classify: give it offloads: {rx: [classify]}")
		}
	}
	return nil
}
