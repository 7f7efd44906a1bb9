package main

import (
	"bufio"
	"errors"
	"fmt"
	"os"
	"strconv"
	"strings"

	"github.com/offloadpmd/offloadpmd/pipeline"
	"github.com/offloadpmd/offloadpmd/pmd"
)

// command is one interactive command. `help` is generated from the table.
type command struct {
	words string // the fixed leading words, e.g. "show port stats"
	args  string // what follows, for help
	help  string
	run   func(a *app, args []string) error
}

// errBadArgs is reported as testpmd reports a command it cannot parse.
var errBadArgs = errors.New("Bad arguments")

// errQuit ends the prompt.
var errQuit = errors.New("quit")

var commands []command

func init() {
	commands = []command{
		{"start", "[tx_first [N]]", "start forwarding; tx_first sends N bursts of txonly packets first", cmdStart},
		{"stop", "", "stop forwarding and print the forward statistics", func(a *app, _ []string) error { return a.stopForwarding() }},
		{"quit", "", "stop forwarding, close the ports and exit", func(*app, []string) error { return errQuit }},
		{"show port stats", "all|<port>", "NIC statistics and the rates since the last show", cmdShowPortStats},
		{"clear port stats", "all|<port>", "zero NIC statistics", cmdClearPortStats},
		{"show port summary", "all|<port>", "ports, MACs, drivers and links", cmdShowPortSummary},
		{"show fwd stats", "all", "forward statistics since start", func(a *app, args []string) error {
			if len(args) != 1 || args[0] != "all" {
				return errBadArgs
			}
			writeFwdStats(a.out, a.fwdReport())
			return nil
		}},
		{"clear fwd stats", "all", "restart the forward statistics", func(a *app, args []string) error {
			if len(args) != 1 || args[0] != "all" {
				return errBadArgs
			}
			if a.fwd != nil {
				a.takeBaseline()
			}
			return nil
		}},
		{"show config", "fwd|rxtx|cores", "the forwarding layout, queue settings or forwarding lcores", cmdShowConfig},
		{"set fwd", "<mode> [retry]", "forward engine: " + pipeline.EngineNames(), cmdSetFwd},
		{"set nbcore", "<n>", "number of forwarding lcores", cmdSetNbCore},
		{"set burst", "<n>", "RX burst size (1..512)", cmdSetBurst},
		{"set promisc", "all|<port> on|off", "promiscuous mode", cmdSetPromisc},
		{"csum set", "ip|tcp|udp|sctp|outer-ip|outer-udp hw|sw <port>", "who does a checksum: the device or software", cmdCsumSet},
		{"csum show", "<port>", "who does each checksum", cmdCsumShow},
		{"tso set", "<segsz> <port>", "segment TCP packets to segsz payload bytes (csum engine); 0 turns it off", cmdTSOSet},
		{"tso show", "<port>", "the TSO segment size", cmdTSOShow},
		{"uso set", "<segsz> <port>", "cut UDP datagrams to segsz payload bytes, each a datagram (csum engine; offloadpmd's own)", cmdUSOSet},
		{"set port", "<port> gro|gso on|off", "software GRO on RX, software GSO on TX", cmdSetPort},
		{"set gso", "segsz <n>", "largest frame GSO makes, Ethernet header included", cmdSetGSO},
		{"set gro", "flush <n>", "GRO holds packets n × 10 µs", cmdSetGRO},
		{"port config", "<port> rx_offload|tx_offload <name> on|off", "enable or disable a capability (software tasks at once, device offloads when stopped)", cmdPortConfig},
		{"show port", "<port> offload [--json]|rx_offload|tx_offload capabilities|configuration|gro|gso", "a port's capability table and settings", cmdShowPortID},
		{"show offload stats", "", "tasks done in software, passed to the device, refused by reason", cmdShowOffloadStats},
		{"help", "", "this list", cmdHelp},
	}
}

// lookupCommand finds the command whose words lead the line.
func lookupCommand(fields []string) (*command, []string) {
	var best *command
	bestLen := 0
	for i := range commands {
		w := strings.Fields(commands[i].words)
		if len(w) <= len(fields) && len(w) > bestLen && equalWords(w, fields[:len(w)]) {
			best, bestLen = &commands[i], len(w)
		}
	}
	if best == nil {
		return nil, nil
	}
	return best, fields[bestLen:]
}

func equalWords(a, b []string) bool {
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// exec runs one command line. It returns errQuit to end the prompt.
func (a *app) exec(line string) error {
	fields := strings.Fields(line)
	if len(fields) == 0 || strings.HasPrefix(fields[0], "#") {
		return nil
	}
	c, args := lookupCommand(fields)
	if c == nil {
		fmt.Fprintf(a.out, "Command not found\n")
		return nil
	}
	err := c.run(a, args)
	switch {
	case err == nil, errors.Is(err, errQuit):
		return err
	case errors.Is(err, errBadArgs):
		fmt.Fprintf(a.out, "Bad arguments\n")
	default:
		fmt.Fprintf(a.errOut, "%s: %v\n", c.words, err)
	}
	return nil
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
	lines := make(chan string)
	go func() {
		sc := bufio.NewScanner(a.stdin)
		for sc.Scan() {
			lines <- sc.Text()
		}
		close(lines)
	}()
	for {
		a.printf("testpmd> ")
		select {
		case line, ok := <-lines:
			if !ok {
				a.printf("\n")
				return nil
			}
			if err := a.exec(line); errors.Is(err, errQuit) {
				return nil
			}
		case <-a.signals:
			return nil
		case f := <-a.requests:
			f()
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
	case args[0] == "tx_first" && len(args) == 1:
		n = 1
	case args[0] == "tx_first" && len(args) == 2:
		v, err := strconv.ParseUint(args[1], 10, 32)
		if err != nil || v == 0 {
			return errBadArgs
		}
		n = int(v)
	default:
		return errBadArgs
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
			return err
		}
	}
	return nil
}

func cmdHelp(a *app, _ []string) error {
	for _, c := range commands {
		a.printf("  %-40s %s\n", strings.TrimSpace(c.words+" "+c.args), c.help)
	}
	return nil
}
