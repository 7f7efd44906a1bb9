package main

import (
	"bufio"
	"errors"
	"fmt"
	"os"
	"slices"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/offloadpmd/offloadpmd/pipeline"
	"github.com/offloadpmd/offloadpmd/pmd"
)

// command is one interactive command: the table below is the whole command
// set; help, argument checking and completion are generated from it.
type command struct {
	words string // the fixed leading words, e.g. "show port stats"
	args  string // the argument grammar (grammar.go), e.g. "all|<port>"
	help  string
	run   func(a *app, args []string) error
	g     grammar
	// own: the handler reads its arguments itself (args is for help);
	// complete then lists what may follow the typed words (all of them,
	// the command's words included).
	own      bool
	complete func(a *app, typed []string) []string
}

func (c *command) grammar() grammar { return c.g }

func (c *command) usage() string { return strings.TrimSpace(c.words + " " + c.args) }

// errBadArgs is reported as testpmd reports a command it cannot parse.
var errBadArgs = errors.New("Bad arguments")

// errQuit ends the prompt.
var errQuit = errors.New("quit")

var commands []command

func init() {
	commands = []command{
		{words: "start", args: "[tx_first] [<count>]", help: "start forwarding; tx_first sends N bursts (default 1) of txonly packets first", run: cmdStart},
		{words: "stop", help: "stop forwarding and print the forward statistics", run: func(a *app, _ []string) error { return a.stopForwarding() }},
		{words: "quit", help: "stop forwarding, close the ports and exit", run: func(*app, []string) error { return errQuit }},
		{words: "help", help: "this list; Tab completes commands and arguments", run: cmdHelp},

		{words: "set fwd", args: "<engine> [retry]", help: "forward engine: " + pipeline.EngineNames(), run: cmdSetFwd},
		{words: "set nbcore", args: "<n>", help: "number of forwarding lcores", run: cmdSetNbCore},
		{words: "set burst", args: "<burst>", help: "RX burst size (1..512)", run: cmdSetBurst},
		{words: "set verbose", args: "<level>", help: "dump packets: 1 received, 2 sent, 3 both, 0 off", run: cmdSetVerbose},
		{words: "set promisc", args: "all|<port> on|off", help: "promiscuous mode", run: cmdSetPromisc},
		{words: "show config", args: "fwd|rxtx|cores", help: "the forwarding layout, queue settings or forwarding lcores", run: cmdShowConfig},

		{words: "show port info", args: "all|<port>", help: "a port's driver, MAC, link, queues and offload capabilities", run: cmdShowPortInfo},
		{words: "show port summary", args: "all|<port>", help: "ports, MACs, drivers and links", run: cmdShowPortSummary},
		{words: "show port stats", args: "all|<port>", help: "NIC statistics and the rates since the last show", run: cmdShowPortStats},
		{words: "show port xstats", args: "all|<port>", help: "the driver's extended statistics", run: cmdShowPortXStats},
		{words: "clear port stats", args: "all|<port>", help: "zero NIC statistics", run: cmdClearPortStats},
		{words: "show fwd stats", args: "all", help: "forward statistics since start", run: func(a *app, _ []string) error {
			writeFwdStats(a.out, a.fwdReport())
			return nil
		}},
		{words: "clear fwd stats", args: "all", help: "restart the forward statistics", run: func(a *app, _ []string) error {
			if a.fwd != nil {
				a.takeBaseline()
			}
			return nil
		}},
		{words: "port start", args: "all|<port>", help: "start a stopped port", run: cmdPortStart},
		{words: "port stop", args: "all|<port>", help: "stop a port (forwarding must be stopped)", run: cmdPortStop},
		{words: "port close", args: "all|<port>", help: "stop and close a port; it cannot be used again", run: cmdPortClose},

		{words: "show port", args: "<port> offload [--json]", help: "the capability table: hardware, software, enabled, who performs", run: cmdShowPortID},
		{words: "show port", args: "<port> rx_offload|tx_offload capabilities|configuration", help: "testpmd's view of the device offloads", run: cmdShowPortID},
		{words: "show port", args: "<port> gro|gso", help: "GRO or GSO settings", run: cmdShowPortID},
		{words: "port config", args: "<port> rx_offload <rx_cap> on|off", help: "enable or disable an RX capability (software tasks at once, device offloads when stopped)", run: cmdPortConfig},
		{words: "port config", args: "<port> tx_offload <tx_cap> on|off", help: "enable or disable a TX capability (software tasks at once, device offloads when stopped)", run: cmdPortConfig},
		{words: "csum set", args: "ip|tcp|udp|sctp|outer-ip|outer-udp hw|sw <port>", help: "who does a checksum: the device or software", run: cmdCsumSet},
		{words: "csum show", args: "<port>", help: "who does each checksum", run: cmdCsumShow},
		{words: "tso set", args: "<segsz> <port>", help: "segment TCP packets to segsz payload bytes (csum engine); 0 turns it off", run: cmdTSOSet},
		{words: "tso show", args: "<port>", help: "the TSO segment size", run: cmdTSOShow},
		{words: "uso set", args: "<segsz> <port>", help: "cut UDP datagrams to segsz payload bytes, each a datagram (csum engine; offloadpmd's own)", run: cmdUSOSet},
		{words: "set port", args: "<port> gro|gso on|off", help: "software GRO on RX, software GSO on TX", run: cmdSetPort},
		{words: "set gso segsz", args: "<segsz>", help: "largest frame GSO makes, Ethernet header included", run: cmdSetGSO},
		{words: "set gro flush", args: "<n>", help: "GRO holds packets n × 10 µs", run: cmdSetGRO},

		{words: "show offload stats", help: "per task: done in software, passed to the device, refused; then refusals and drops by reason", run: cmdShowOffloadStats},
		{words: "trace", args: "<packets>", help: "follow the next N received packets through every stage, with each task's decision; 0 cancels", run: cmdTrace},
		{words: "monitor", args: "[<seconds>] [<count>]", help: "rates per port and per task, refreshed in place every N s (default 1) until Enter or COUNT refreshes", run: cmdMonitor},

		{words: "sa add", args: saAddArgs, help: "add an IPsec SA; keys in hex as ip xfrm takes them (GCM: key then 4-byte salt), never shown", run: cmdSAAdd},
		{words: "sa del", args: "<index>", help: "delete an SA (refused while an outbound policy uses it)", run: cmdSADel},
		{words: "sa show", args: "[<index>]", help: "the SAs (keys redacted) and the outbound policies", run: cmdSAShow},
		{words: "sa policy", args: "<port> <prefix>|any sa <index>", help: "encrypt packets leaving port for prefix with an outbound SA (first match wins)", run: cmdSAPolicy},
		{words: "sa policy", args: "<port> clear", help: "remove a port's outbound policies", run: cmdSAPolicy},

		{words: "digest set", args: digestSetArgs, help: "a port's message digest: what its packets' digest requests get, what its received packets are checked against (appended, the default, or in the dynfield); the key in hex, never shown", run: cmdDigestSet},
		{words: "digest show", args: "<port>", help: "a port's digest (the key redacted)", run: cmdDigestShow},
		{words: "digest clear", args: "<port>", help: "remove a port's digest (its requests are then dropped, its packets not verified)", run: cmdDigestClear},

		{words: "dos show", args: "[<addr>]", help: "the DoS filter: filtering ports, configuration, each stream's table occupancy, drops; with an address, what the allow and block lists do with it", run: cmdDoSShow},
		{words: "show dos", args: "[<addr>]", help: "the same as dos show", run: cmdDoSShow},
		{words: "dos set", args: "<dos_key> <value>", help: "set a DoS filter limit at run time (the config file's dos keys, nested ones dotted: syn.rate 500, handshake_timeout 5s, drop_land off)", run: cmdDoSSet},
		{words: "dos allow", args: "add|del <source_prefix>", help: "sources the DoS filter's rates and limits spare (not its header rules)", run: cmdDoSAllow},
		{words: "dos block", args: "add|del <source_prefix>", help: "sources the DoS filter drops (the longest matching prefix of both lists decides)", run: cmdDoSBlock},
		{words: "dos reset", help: "clear the DoS filters' state (buckets, established sources, flows, fragments); counters are kept", run: cmdDoSReset},
	}
	commands = append(commands, flowCommands()...)
	for i := range commands {
		commands[i].g = parseGrammar(commands[i].args)
	}
}

// lookupCommand finds the commands whose words lead the line: the variants
// with the longest words.
func lookupCommand(fields []string) ([]*command, []string) {
	var best []*command
	bestLen := 0
	for i := range commands {
		w := strings.Fields(commands[i].words)
		if len(w) > len(fields) || !slices.Equal(w, fields[:len(w)]) {
			continue
		}
		switch {
		case len(w) > bestLen:
			best, bestLen = []*command{&commands[i]}, len(w)
		case len(w) == bestLen:
			best = append(best, &commands[i])
		}
	}
	if best == nil {
		return nil, nil
	}
	return best, fields[bestLen:]
}

// resolve picks the variant whose grammar accepts args, or explains why
// none does, from the variant that accepted most of them.
func (a *app) resolve(cs []*command, args []string) (*command, error) {
	var best error
	bestDepth := -1
	for _, c := range cs {
		if c.own {
			return c, nil
		}
		depth, err := a.match(c.g, args)
		if err == nil {
			return c, nil
		}
		if depth > bestDepth {
			best, bestDepth = err, depth
		}
	}
	return nil, best
}

// exec runs one command line. It returns errQuit to end the prompt.
func (a *app) exec(line string) error {
	fields := strings.Fields(line)
	if len(fields) == 0 || strings.HasPrefix(fields[0], "#") {
		return nil
	}
	cs, args := lookupCommand(fields)
	if cs == nil {
		fmt.Fprintf(a.out, "Command not found: %q%s\n", redactLine(line), a.suggest(fields))
		return nil
	}
	c, err := a.resolve(cs, args)
	if err != nil {
		fmt.Fprintf(a.out, "Bad arguments: %v\n", err)
		for _, v := range cs {
			fmt.Fprintf(a.out, "Usage: %s\n", v.usage())
		}
		return nil
	}
	err = c.run(a, args)
	switch {
	case err == nil, errors.Is(err, errQuit):
		return err
	case errors.Is(err, errBadArgs):
		fmt.Fprintf(a.out, "Bad arguments\nUsage: %s\n", c.usage())
	default:
		fmt.Fprintf(a.errOut, "%s: %v\n", c.words, err)
	}
	return nil
}

// suggest names the commands that start like the unknown line.
func (a *app) suggest(fields []string) string {
	var hits []string
	for n := len(fields); n > 0 && len(hits) == 0; n-- {
		for i := range commands {
			w := strings.Fields(commands[i].words)
			k := min(n, len(w))
			if slices.Equal(w[:k], fields[:k]) && !slices.Contains(hits, commands[i].words) {
				hits = append(hits, commands[i].words)
			}
		}
	}
	if len(hits) == 0 {
		return "; type help for the list"
	}
	return "; did you mean: " + strings.Join(hits, ", ")
}

// knownPorts are the port ids commands accept (published for the
// completer, which runs on the prompt's goroutine).
func (a *app) knownPorts() []uint16 {
	if p := a.portIDs.Load(); p != nil {
		return *p
	}
	return nil
}

// publishPorts records the current ports for knownPorts.
func (a *app) publishPorts() {
	ids := make([]uint16, 0, len(a.ports)+len(a.taps))
	for _, p := range a.ports {
		ids = append(ids, p.ID())
	}
	for _, t := range a.taps {
		ids = append(ids, t.ID())
	}
	a.portIDs.Store(&ids)
}

// interactive runs the prompt until quit, EOF or a signal.
func (a *app) interactive() error {
	if f := a.cfg.CmdlineFile; f != "" {
		if err := a.runCmdlineFile(f); err != nil {
			if errors.Is(err, errQuit) {
				return nil
			}
			return err
		}
		a.printf("Read CLI commands from %s\n", f)
	}
	if a.cfg.AutoStart {
		a.printf("Start automatic packet forwarding\n")
		if err := a.startForwarding(0); err != nil {
			return err
		}
	}
	pr := a.newPrompter()
	defer pr.close()
	lines, next := make(chan string), make(chan struct{})
	go func() {
		defer close(lines)
		for {
			line, err := pr.prompt("testpmd> ")
			if err != nil {
				return
			}
			lines <- line
			if _, ok := <-next; !ok {
				return
			}
		}
	}()
	defer close(next)
	tick := time.NewTicker(100 * time.Millisecond)
	defer tick.Stop()
	for {
		select {
		case line, ok := <-lines:
			if !ok {
				a.printf("\n")
				return nil
			}
			if err := a.exec(line); errors.Is(err, errQuit) {
				return nil
			}
			next <- struct{}{}
		case <-a.signals:
			return nil
		case f := <-a.requests:
			f()
		case <-tick.C:
			a.observe()
		}
	}
}

func (a *app) runCmdlineFile(name string) error {
	f, err := os.Open(name)
	if err != nil {
		return fmt.Errorf("--cmdline-file: %w", err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for n := 1; sc.Scan(); n++ {
		if err := a.exec(sc.Text()); err != nil {
			return fmt.Errorf("%s:%d: %w", name, n, err)
		}
	}
	return sc.Err()
}

// portArgs reads "all" or a port id.
func (a *app) portArgs(args []string) ([]uint16, error) {
	if len(args) != 1 {
		return nil, errBadArgs
	}
	if args[0] == "all" {
		ids := make([]uint16, 0, len(a.ports)+len(a.taps))
		for _, p := range a.ports {
			ids = append(ids, p.ID())
		}
		for _, t := range a.taps {
			ids = append(ids, t.ID())
		}
		return ids, nil
	}
	n, err := strconv.ParseUint(args[0], 10, 16)
	if err != nil {
		return nil, errBadArgs
	}
	if a.port(uint16(n)) == nil && pmd.TapByID(uint16(n)) == nil {
		fmt.Fprintf(a.errOut, "Invalid port %d\n", n)
		a.printf("The valid ports array is [")
		for _, p := range a.ports {
			a.printf(" %d", p.ID())
		}
		a.printf(" ]\n")
		return nil, nil
	}
	return []uint16{uint16(n)}, nil
}

func cmdStart(a *app, args []string) error {
	n := 0
	switch {
	case len(args) == 0:
	case args[0] != "tx_first":
		return errBadArgs
	case len(args) == 1:
		n = 1
	default:
		v, _ := strconv.Atoi(args[1])
		n = v
	}
	return a.startForwarding(n)
}

func cmdShowPortStats(a *app, args []string) error {
	ids, err := a.portArgs(args)
	if err != nil {
		return err
	}
	for _, id := range ids {
		r, err := a.nicReport(id)
		if err != nil {
			return err
		}
		writeNICStats(a.out, r)
	}
	return nil
}

func cmdClearPortStats(a *app, args []string) error {
	ids, err := a.portArgs(args)
	if err != nil {
		return err
	}
	for _, id := range ids {
		if a.port(id) == nil {
			return fmt.Errorf("port %d is a TAP: its counters are the kernel's, which it does not reset", id)
		}
		if err := a.port(id).ResetStats(); err != nil {
			return err
		}
		a.printf("\n  NIC statistics for port %d cleared\n", id)
	}
	return nil
}

func cmdShowPortSummary(a *app, args []string) error {
	ids, err := a.portArgs(args)
	if err != nil {
		return err
	}
	a.printf("Number of available ports: %d\n", len(a.ports))
	a.printf("Port MAC Address       Name         Driver         Status   Link\n")
	for _, id := range ids {
		p := a.port(id)
		if p == nil {
			t := pmd.TapByID(id)
			status := "down"
			if up, _ := t.Up(); up {
				status = "up"
			}
			a.printf("%-4d %-17s %-12s %-14s %-8s netns %q, kernel took %v\n", id, "-", t.Name(), "net_opmdtap", status, t.Netns(), t.Offload())
			continue
		}
		l, _ := p.Link()
		status, speed := "down", l.Speed()
		if l.Up {
			status = "up"
		}
		a.printf("%-4d %s %-12s %-14s %-8s %s\n", id, upperMAC(a.macs[id]), p.Name(), p.Info().Driver, status, speed)
	}
	return nil
}

func cmdShowConfig(a *app, args []string) error {
	if len(args) != 1 {
		return errBadArgs
	}
	switch args[0] {
	case "fwd":
		if a.fwd == nil || !a.fwd.Running() {
			if err := a.buildForwarder(); err != nil {
				return err
			}
		}
		writeFwdConfig(a.out, a.fwdConfigReport())
	case "rxtx":
		writeRxTxConfig(a.out, a.rxtxConfigReport())
	case "cores":
		ls, err := a.forwardingLcores()
		if err != nil {
			return err
		}
		a.printf("List of forwarding lcores:")
		for _, l := range ls {
			a.printf(" %2d", l)
		}
		a.printf("\n")
	default:
		return errBadArgs
	}
	return nil
}

func (a *app) mustBeStopped() error {
	if a.fwd != nil && a.fwd.Running() {
		return errors.New("please stop forwarding first")
	}
	return nil
}

func cmdSetFwd(a *app, args []string) error {
	if len(args) < 1 || len(args) > 2 || (len(args) == 2 && args[1] != "retry") {
		return errBadArgs
	}
	if err := a.mustBeStopped(); err != nil {
		return err
	}
	e, err := pipeline.EngineByName(args[0])
	if err != nil {
		return err
	}
	a.engine, a.retry = e, len(args) == 2
	a.printf("Set %s packet forwarding mode%s\n", e.Name, withRetry(a.retry))
	return nil
}

func cmdSetNbCore(a *app, args []string) error {
	if len(args) != 1 {
		return errBadArgs
	}
	if err := a.mustBeStopped(); err != nil {
		return err
	}
	n, err := strconv.Atoi(args[0])
	ls, lerr := a.forwardingLcores()
	if err != nil || lerr != nil || n < 1 || n > len(ls) {
		return fmt.Errorf("nb-cores should be > 0 and <= %d", len(ls))
	}
	a.nbCores = n
	a.printf("Number of forwarding cores set to %d\n", n)
	return nil
}

func cmdSetBurst(a *app, args []string) error {
	if len(args) != 1 {
		return errBadArgs
	}
	if err := a.mustBeStopped(); err != nil {
		return err
	}
	n, err := strconv.Atoi(args[0])
	if err != nil || n < 1 || n > 512 {
		return errors.New("burst must be between 1 and 512")
	}
	a.burst = uint16(n)
	a.printf("Number of packets per burst set to %d\n", n)
	return nil
}

func cmdSetPromisc(a *app, args []string) error {
	if len(args) != 2 || (args[1] != "on" && args[1] != "off") {
		return errBadArgs
	}
	ids, err := a.portArgs(args[:1])
	if err != nil {
		return err
	}
	for _, id := range ids {
		if a.port(id) == nil {
			continue // a TAP takes every frame the kernel sends
		}
		if err := a.port(id).SetPromiscuous(args[1] == "on"); err != nil {
			// As testpmd: say so and go on with the other ports.
			verb := map[bool]string{true: "enabling", false: "disabling"}[args[1] == "on"]
			fmt.Fprintf(a.errOut, "Error during %s promiscuous mode for port %d: %v\n", verb, id, err)
		}
	}
	return nil
}

func cmdHelp(a *app, _ []string) error {
	tw := tabwriter.NewWriter(a.out, 0, 0, 2, ' ', 0)
	for _, c := range commands {
		fmt.Fprintf(tw, "  %s\t%s\n", c.usage(), c.help)
	}
	return tw.Flush()
}
