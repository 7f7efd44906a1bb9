package main

import (
	"bytes"
	"slices"
	"strings"
	"testing"

	"github.com/offloadpmd/offloadpmd/config"
)

// cliApp is an app with ports 0, 1 and a TAP at 32 as far as argument
// checking and completion know, and no EAL: commands whose arguments are
// refused never reach their handlers.
func cliApp() (*app, *bytes.Buffer) {
	cfg := config.Defaults()
	var out bytes.Buffer
	a := newApp(&cfg, strings.NewReader(""), &out, &out)
	ids := []uint16{0, 1, 32}
	a.portIDs.Store(&ids)
	return a, &out
}

// TestCommandArguments: every command of the table, given wrong arity,
// unknown words or names, or an id out of range, says what is wrong and
// how the command is used.
func TestCommandArguments(t *testing.T) {
	cases := []struct {
		line string
		want []string // each must appear in the output
	}{
		{"start now", []string{`Bad arguments: argument 1: "now" is not one of tx_first`, "Usage: start [tx_first] [<count>]"}},
		{"start tx_first 0", []string{"argument 2: 0 is out of range 1..1048576"}},
		{"stop now", []string{"Bad arguments: 1 argument given, 0 expected", "Usage: stop"}},
		{"quit 1", []string{"1 argument given, 0 expected"}},
		{"help me", []string{"1 argument given, 0 expected"}},
		{"set fwd", []string{"0 arguments given, 1 to 2 expected", "Usage: set fwd <engine> [retry]"}},
		{"set fwd iox", []string{`unknown forwarding mode "iox"; did you mean "io"?; allowed: io, mac, macswap, rxonly, txonly, csum`}},
		{"set fwd io again", []string{`argument 2: "again" is not one of retry`}},
		{"set nbcore x", []string{`"x" is not a number`}},
		{"set burst 0", []string{"0 is out of range 1..512"}},
		{"set burst 513", []string{"513 is out of range 1..512"}},
		{"set verbose", []string{"0 arguments given, 1 expected", "Usage: set verbose <level>"}},
		{"set verbose loud", []string{`"loud" is not a number`}},
		{"set promisc 7 on", []string{`invalid port "7"; the valid ports are 0 1 32`}},
		{"set promisc all maybe", []string{`"maybe" is not one of on, off`}},
		{"show config fwds", []string{`"fwds" is not one of fwd, rxtx, cores`}},
		{"show port info 2", []string{`invalid port "2"`, "Usage: show port info all|<port>"}},
		{"show port summary", []string{"0 arguments given, 1 expected"}},
		{"show port stats x", []string{`"x" is not all or <port>`}},
		{"show port xstats 65536", []string{`invalid port "65536"`}},
		{"clear port stats", []string{"Usage: clear port stats all|<port>"}},
		{"show fwd stats", []string{"Usage: show fwd stats all"}},
		{"clear fwd stats some", []string{`"some" is not one of all`}},
		{"port start 9", []string{`invalid port "9"`}},
		{"port stop", []string{"Usage: port stop all|<port>"}},
		{"port close all now", []string{"2 arguments given, 1 expected"}},
		{"show port 0 offloads", []string{"Usage: show port <port> offload [--json]", "Usage: show port <port> gro|gso"}},
		{"show port 5 offload", []string{`invalid port "5"`}},
		{"show port 0 rx_offload capability", []string{"Usage: show port <port> rx_offload|tx_offload capabilities|configuration"}},
		{"show port 0 gro on", []string{"Usage: show port <port> gro|gso"}},
		{"port config 0 rx_offload tcp_lr on", []string{`unknown RX capability "tcp_lr"`, "tcp_lro"}},
		{"port config 0 tx_offload tcp_tso maybe", []string{`argument 4: "maybe" is not one of on, off`}},
		{"port config 0 tx_offload tcp_tsoo on", []string{`unknown TX capability "tcp_tsoo"; did you mean "tcp_tso"?; allowed: `}},
		{"port config 3 tx_offload tcp_tso on", []string{`invalid port "3"`}},
		{"csum set ipv4 hw 0", []string{`"ipv4" is not one of ip, tcp, udp, sctp, outer-ip, outer-udp`}},
		{"csum set ip hardware 0", []string{`"hardware" is not one of hw, sw`}},
		{"csum set tpc hw 0", []string{`did you mean "tcp"?`}},
		{"csum show", []string{"Usage: csum show <port>"}},
		{"tso set 1448", []string{"1 argument given, 2 expected"}},
		{"tso set 70000 0", []string{"70000 is out of range 0..65535"}},
		{"tso show 4", []string{`invalid port "4"`}},
		{"uso set x 0", []string{`"x" is not a number`}},
		{"set port 0 lro on", []string{`"lro" is not one of gro, gso`}},
		{"set gso segsz", []string{"Usage: set gso segsz <segsz>"}},
		{"set gro flush soon", []string{`"soon" is not a number`}},
		{"show offload stats now", []string{"1 argument given, 0 expected"}},
		{"trace", []string{"Usage: trace <packets>"}},
		{"trace -1", []string{`"-1" is not a number`}},
		{"set verbose 256", []string{"256 is out of range 0..255"}},
		{"monitor 0", []string{"0 is out of range 1..3600"}},
		{"monitor 1 2 3", []string{"3 arguments given, 0 to 2 expected"}},
		{"sa add 0 spi 0x1000 out tunnel aes128gcm16 enc", []string{"7 arguments given, 8 to 21 expected", "Usage: sa add <index> spi <spi> in|out tunnel|transport <alg> enc <hex> {auth <hex>}"}},
		{"sa add 4096 spi 0x1000 out tunnel aes128gcm16 enc 00", []string{"argument 1: 4096 is out of range 0..4095"}},
		{"sa add 0 spi 255 out tunnel aes128gcm16 enc 00", []string{"argument 3: 255 is out of range 256..4294967295"}},
		{"sa add 0 spi 0x1000 sideways tunnel aes128gcm16 enc 00", []string{`argument 4: "sideways" is not one of in, out`}},
		{"sa add 0 spi 0x1000 out tunel aes128gcm16 enc 00", []string{`argument 5: "tunel" is not one of tunnel, transport; did you mean "tunnel"?`}},
		{"sa add 0 spi 0x1000 out tunnel aes128gcm enc 00", []string{`argument 6: unknown ESP algorithm "aes128gcm"; did you mean "aes128gcm16"?; allowed: aes128gcm16, aes256gcm16, aes128-sha256, aes256-sha256`}},
		{"sa add 0 spi 0x1000 out tunnel aes128gcm16 key 00", []string{`argument 7: "key" is not one of enc`}},
		{"sa add 0 spi 0x1000 out tunnel aes128gcm16 enc 0g", []string{"argument 8: key: a character that is not a hex digit"}},
		{"sa add 0 spi 0x1000 out tunnel aes128gcm16 enc 00 esm", []string{`argument 9: "esm" is not one of auth, src, dst, esn, window, ttl, df; did you mean "esn"?`}},
		{"sa add 0 spi 0x1000 out tunnel aes128gcm16 enc 00 esn esn", []string{"argument 10: esn given twice"}},
		{"sa add 0 spi 0x1000 out tunnel aes128gcm16 enc 00 window", []string{"argument 9: window needs a value: <window>"}},
		{"sa add 0 spi 0x1000 out tunnel aes128gcm16 enc 00 window 5000", []string{"argument 10 (window): 5000 is out of range 1..4096"}},
		{"sa add 0 spi 0x1000 out tunnel aes128gcm16 enc 00 src 10.0.0.300", []string{`argument 10 (src): "10.0.0.300" is not an IPv4 or IPv6 address`}},
		{"sa add 0 spi 0x1000 out tunnel aes128gcm16 enc 00 df maybe", []string{`argument 10 (df): "maybe" is not one of copy, set, clear`}},
		{"sa add 0 spi 0x1000 out tunnel aes128gcm16 enc 00 11 22", []string{"argument 9: a word of hex digits is not one of auth, src, dst, esn, window, ttl, df (a key is one word, without spaces)"}},
		{"sa del", []string{"0 arguments given, 1 expected", "Usage: sa del <index>"}},
		{"sa del x", []string{`argument 1: "x" is not a number`}},
		{"sa show 1 2", []string{"2 arguments given, 0 to 1 expected", "Usage: sa show [<index>]"}},
		{"sa policy 0 10.0.0.1/24 sa 0", []string{"has bits set past its length; did you mean 10.0.0.0/24?", "Usage: sa policy <port> <prefix>|any sa <index>"}},
		{"sa policy 7 any sa 0", []string{`invalid port "7"`}},
		{"sa policy 0 any sa", []string{"3 arguments given, 4 expected"}},
		{"sa policy 0 drop", []string{"Usage: sa policy <port> <prefix>|any sa <index>", "Usage: sa policy <port> clear"}},
		{"digest set 0 md5", []string{`argument 2: "md5" is not one of hmac-sha256, sha256, crc32c`, "Usage: digest set <port> hmac-sha256|sha256|crc32c {key <hex>} {len <digest_len>} {append} {dynfield}"}},
		{"digest set 5 sha256", []string{`argument 1: invalid port "5"`}},
		{"digest set 0 sha256 len 40", []string{"argument 4 (len): 40 is out of range 0..32"}},
		{"digest set 0 hmac-sha256 key 0g", []string{"argument 4 (key): key: a character that is not a hex digit"}},
		{"digest set 0 sha256 apend", []string{`argument 3: "apend" is not one of key, len, append, dynfield; did you mean "append"?`}},
		{"digest show", []string{"0 arguments given, 1 expected", "Usage: digest show <port>"}},
		{"digest clear 0 1", []string{"2 arguments given, 1 expected", "Usage: digest clear <port>"}},
		{"dos show 10.0.0.0/8", []string{`argument 1: "10.0.0.0/8" is not an IPv4 or IPv6 address`, "Usage: dos show [<addr>]"}},
		{"show dos 10.0.0.1 b", []string{"2 arguments given, 0 to 1 expected", "Usage: show dos [<addr>]"}},
		{"dos set syn.rat 5", []string{`argument 1: unknown DoS key "syn.rat"; did you mean "syn.rate"?`, "Usage: dos set <dos_key> <value>"}},
		{"dos set syn.rate", []string{"1 argument given, 2 expected"}},
		{"dos allow put 10.0.0.0/8", []string{`argument 1: "put" is not one of add, del`, "Usage: dos allow add|del <source_prefix>"}},
		{"dos block add 10.1.2.3/8", []string{"has bits set past its length; did you mean 10.0.0.0/8?", "Usage: dos block add|del <source_prefix>"}},
		{"dos reset now", []string{"1 argument given, 0 expected", "Usage: dos reset"}},
		{"flow create 0 ingress pattern eth / ipv5 / end actions drop / end", []string{`Bad arguments: flow: token 8 "ipv5": unknown item (did you mean "ipv4"?); allowed: eth, vlan, ipv4, ipv6, tcp, udp, icmp, end`}},
		{"flow create 7 ingress pattern eth / end actions drop / end", []string{`Bad arguments: flow: token 3 "7": invalid port; the valid ports are 0 1 32`}},
		{"flow create 0 ingress pattern eth / ipv4 src is 10.0.0.300 / end actions drop / end", []string{`flow: token 11 "10.0.0.300": bad value of field src: not an IPv4 address; allowed: <IPv4 address>`}},
		{"flow create 0 ingress pattern eth / udp dst is 70000 / end actions drop / end", []string{`flow: token 11 "70000": bad value of field dst: 70000 does not fit in 16 bits`}},
		{"flow create 0 ingress pattern eth / end actions mark idd 3 / end", []string{`flow: token 11 "idd": unknown argument of mark (did you mean "id"?); allowed: id, /`}},
		{"flow validate 0 ingress pattern eth / end actions drop", []string{`flow: token 11 (end of line): missing "/" after action drop (the actions end with "/ end"); allowed: /`}},
		{"flow destroy 0 rule x", []string{`flow: token 5 "x": bad rule id: not an unsigned integer; allowed: <rule id>`}},
		{"flow flush", []string{`flow: token 3 (end of line): missing port; allowed: <port>`}},
		{"flow list 0 group", []string{`flow: token 5 (end of line): missing group; allowed: <group>`}},
		{"flow query 0 1 counts", []string{`flow: token 5 "counts": unknown action to query (did you mean "count"?); allowed: count`}},
		{"flow creat 0", []string{`Command not found: "flow creat 0"; did you mean: flow create, flow validate, flow destroy, flow flush, flow list, flow query`}},
		{"frobnicate", []string{`Command not found: "frobnicate"; type help for the list`}},
		{"show ports", []string{`Command not found: "show ports"; did you mean: show config`, "show port info"}},
		{"set fwdx io", []string{"did you mean: set fwd, set nbcore"}},
	}
	covered := map[string]bool{}
	for _, c := range cases {
		t.Run(c.line, func(t *testing.T) {
			a, out := cliApp()
			if err := a.exec(c.line); err != nil {
				t.Fatalf("exec: %v", err)
			}
			for _, w := range c.want {
				if !strings.Contains(out.String(), w) {
					t.Errorf("output lacks %q:\n%s", w, out.String())
				}
			}
		})
		if cs, _ := lookupCommand(strings.Fields(c.line)); cs != nil {
			for _, cmd := range cs {
				covered[cmd.usage()] = true
			}
		}
	}
	for _, c := range commands {
		if !covered[c.usage()] {
			t.Errorf("no argument case for %q", c.usage())
		}
	}
}

// TestCommandGrammarAccepts: the lines a testpmd user types pass the
// argument check (the handlers, which need a running EAL, are covered by
// the session tests).
func TestCommandGrammarAccepts(t *testing.T) {
	a, _ := cliApp()
	for _, line := range everyCommand {
		cs, args := lookupCommand(strings.Fields(line))
		if cs == nil {
			t.Errorf("%q: command not found", line)
			continue
		}
		if _, err := a.resolve(cs, args); err != nil {
			t.Errorf("%q: %v", line, err)
		}
	}
}

// completionCase is a line to complete at its end and what the
// completions must and must not include; no want: no completion at all.
type completionCase struct {
	line      string
	want, not []string
}

// checkCompletions completes each case's line with a.
func checkCompletions(t *testing.T, a *app, cases []completionCase) {
	t.Helper()
	for _, c := range cases {
		head, got, _ := a.complete(c.line, len(c.line))
		if !strings.HasPrefix(c.line, head) {
			t.Errorf("%q: head %q is not the line's start", c.line, head)
		}
		for _, w := range c.want {
			if !slices.Contains(got, w) {
				t.Errorf("%q: completions %q lack %q", c.line, got, w)
			}
		}
		for _, w := range c.not {
			if slices.Contains(got, w) {
				t.Errorf("%q: completions %q include %q", c.line, got, w)
			}
		}
		if c.want == nil && len(got) != 0 {
			t.Errorf("%q: want no completion, got %q", c.line, got)
		}
	}
}

// TestCompletion: Tab completes command words, then each argument from its
// slot: words, port ids, engine and capability names.
func TestCompletion(t *testing.T) {
	a, _ := cliApp()
	checkCompletions(t, a, []completionCase{
		{line: "sh", want: []string{"show "}, not: []string{"set "}},
		{line: "show ", want: []string{"config ", "port ", "fwd ", "offload "}},
		{line: "show port ", want: []string{"info ", "summary ", "stats ", "xstats ", "0 ", "1 ", "32 "}},
		{line: "show port 0 ", want: []string{"offload ", "rx_offload ", "tx_offload ", "gro ", "gso "}, not: []string{"info "}},
		{line: "show port 0 rx_offload ", want: []string{"capabilities ", "configuration "}},
		{line: "show port stats ", want: []string{"all ", "0 ", "1 ", "32 "}},
		{line: "set fwd ", want: []string{"io ", "csum ", "macswap "}},
		{line: "set fwd mac", want: []string{"mac ", "macswap "}, not: []string{"io "}},
		{line: "port config 0 tx_offload tcp_", want: []string{"tcp_cksum ", "tcp_tso "}, not: []string{"udp_cksum "}},
		{line: "port config 0 rx_offload ", want: []string{"tcp_lro "}},
		{line: "port config 0 tx_offload tcp_tso ", want: []string{"on ", "off "}},
		{line: "csum set ip ", want: []string{"hw ", "sw "}},
		{line: "csum set ip sw ", want: []string{"0 ", "1 "}},
		{line: "set port 1 ", want: []string{"gro ", "gso "}},
		{line: "start ", want: []string{"tx_first "}},
		{line: "set burst ", want: nil, not: []string{"0 "}},
		{line: "show port 9 ", want: nil, not: []string{"offload "}},
		{line: "nosuch ", want: nil},
		{line: "flow ", want: []string{"create ", "validate ", "destroy ", "flush ", "list ", "query "}},
		{line: "flow create ", want: []string{"0 ", "1 ", "32 "}},
		{line: "flow create 0 ", want: []string{"ingress ", "egress ", "pattern ", "priority "}},
		{line: "flow create 0 ingress pattern eth / ip", want: []string{"ipv4 ", "ipv6 "}, not: []string{"eth "}},
		{line: "flow create 0 ingress pattern eth / ipv4 src ", want: []string{"is ", "spec ", "prefix "}},
		{line: "flow create 0 ingress pattern eth / end actions ", want: []string{"drop ", "count ", "mark ", "esp ", "tso ", "csum "}},
		{line: "flow create 0 ingress pattern eth / end actions drop / end ", want: nil},
		{line: "flow create 0 ingress pattern eth / ipv5 / ", want: nil},
		{line: "flow query 0 1 ", want: []string{"count "}},
	})
	// Completion in the middle of a line keeps what follows the cursor.
	line := "show po stats all"
	head, got, tail := a.complete(line, len("show po"))
	if head != "show " || tail != " stats all" || !slices.Contains(got, "port ") {
		t.Errorf("mid-line: head %q words %q tail %q", head, got, tail)
	}
}

// TestHelpListsEveryCommand: help is generated from the table.
func TestHelpListsEveryCommand(t *testing.T) {
	a, out := cliApp()
	if err := a.exec("help"); err != nil {
		t.Fatal(err)
	}
	for _, c := range commands {
		if !strings.Contains(out.String(), c.usage()) || !strings.Contains(out.String(), c.help) {
			t.Errorf("help lacks %q", c.usage())
		}
	}
}
