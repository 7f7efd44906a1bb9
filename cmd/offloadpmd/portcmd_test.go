package main

import (
	"fmt"
	"os"
	"os/exec"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/offloadpmd/offloadpmd/pmd/pmdtest"
)

// TestPortCommandsSession runs the port and monitor commands from a
// script, as a testpmd user's cmdline file or pipe would.
func TestPortCommandsSession(t *testing.T) {
	needRoot(t)
	script := strings.Join([]string{
		"show port info 0",
		"show port xstats 1",
		"start",
		"port stop 1", // refused while forwarding
		"monitor 1 2",
		"stop",
		"port stop 1",
		"show port info 1",
		"port start 1",
		"show port info 1",
		"port close 1",
		"show port info 1", // gone
		"show port summary all",
		"quit",
	}, "\n") + "\n"
	r := runBin(t, script, 90*time.Second, append(eal(t, "net_null0", "net_null1"), "--", "-i", "--total-num-mbufs=8192")...)
	noPanic(t, r)
	if r.code != 0 {
		t.Fatalf("exit %d\n%s\n%s", r.code, r.stdout, r.stderr)
	}
	out := r.stdout
	for _, want := range []string{
		"********************* Infos for port 0  *********************",
		"Driver name: net_null",
		"Current number of RX queues: 1",
		"###### NIC extended statistics for port 1",
		"rx_good_packets: ",
		"Port state: stopped",
		"Port state: started",
		"Port 1 is closed",
		`invalid port "1"; the valid ports are 0`,
	} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q", want)
		}
	}
	if !strings.Contains(r.stderr, "port stop: please stop forwarding first") {
		t.Errorf("port stop while forwarding was not refused:\n%s", r.stderr)
	}
	// Two monitor blocks, each with both ports forwarding millions.
	blocks := regexp.MustCompile(`(?m)^\s*0\s+net_null0\s+up\s+(\d+)\s+(\d+)`).FindAllStringSubmatch(out, -1)
	if len(blocks) != 2 {
		t.Fatalf("%d monitor blocks, want 2:\n%s", len(blocks), out)
	}
	for _, b := range blocks {
		if len(b[1]) < 6 {
			t.Errorf("monitor shows port 0 RX %s pps; net_null forwards millions", b[1])
		}
	}
	if !regexp.MustCompile(`(?m)^\s*l4_cksum\s+\d+\s+\d+\s+\d+`).MatchString(out) {
		t.Errorf("monitor lacks the task rows:\n%s", out)
	}
}

// TestLinkWaitProgress: without link-state interrupts offloadpmd waits for
// links as testpmd does (up to 9 s), and says meanwhile which are down.
func TestLinkWaitProgress(t *testing.T) {
	needRoot(t)
	sock := t.TempDir() + "/vhost.sock" // no guest: its link stays down
	start := time.Now()
	r := runBin(t, "", 60*time.Second, append(eal(t, "net_vhost0,iface="+sock, "net_null0"),
		"--", "--no-lsc-interrupt", "--run-time=1", "--total-num-mbufs=8192")...)
	noPanic(t, r)
	if r.code != 0 {
		t.Fatalf("exit %d\n%s", r.code, r.stderr)
	}
	if took := time.Since(start); took < 9*time.Second {
		t.Errorf("took %v: the link wait did not wait 9 s for the vhost port", took)
	}
	if n := strings.Count(r.stderr, "waiting for links"); n < 5 {
		t.Errorf("%d progress lines over 9 s, want one a second:\n%s", n, r.stderr)
	}
	if !strings.Contains(r.stderr, `"0 (net_vhost0)"`) || strings.Contains(r.stderr, "1 (net_null0)") {
		t.Errorf("progress does not name just the down port:\n%s", r.stderr)
	}
	if !strings.Contains(r.stdout, "Port 0 Link down") || !strings.Contains(r.stdout, "Port 1 Link up") {
		t.Errorf("link statuses not printed after the wait:\n%s", r.stdout)
	}
}

// everyCommand is one valid line per command of the table, in an order
// a session can run them (port 1 is closed near the end).
var everyCommand = []string{
	"help", "show config cores", "set fwd csum", "set fwd io retry", "set fwd io", "set nbcore 1", "set burst 32",
	"set verbose 0", "set promisc all off", "set promisc 0 on", "show config fwd", "show config rxtx",
	"show port info all", "show port summary 1", "show port stats all", "show port xstats 0", "clear port stats all",
	"show port 0 offload", "show port 0 offload --json", "show port 1 tx_offload capabilities",
	"show port 1 rx_offload configuration", "show port 0 gro", "show port 0 gso",
	"port config 0 rx_offload tcp_lro on", "port config 1 tx_offload ipv4_cksum on", "csum set udp sw 0", "csum show 0",
	"tso set 1448 0", "tso show 1", "uso set 1400 0", "set port 0 gro on", "set port 1 gso on", "set gso segsz 1502",
	"set gro flush 4", "start", "trace 2", "show offload stats", "show fwd stats all", "clear fwd stats all",
	"monitor 1 1", "stop", "start tx_first 2", "stop",
	"sa add 0 spi 0x1000 out tunnel aes128gcm16 enc 0x4c80cdefbb5d10da906ac73c3613a63411223344 src 10.0.0.1 dst 10.0.0.2 ttl 32",
	"sa add 1 spi 0x1001 in transport aes256-sha256 enc 00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff " +
		"auth a1a2a3a4a5a6a7a8a9aaabacadaeafb0b1b2b3b4b5b6b7b8b9babbbcbdbebfc0 esn window 1024",
	"sa policy 0 10.9.0.0/16 sa 0", "sa show", "sa show 0", "sa policy 0 clear", "sa del 0",
	"digest set 0 hmac-sha256 key " + testAuthKey + " len 16 append", "digest show 0", "digest clear 0",
	"port config 0 rx_offload dos_filter on", "dos set syn.rate 500", "dos allow add 192.0.2.0/24", "dos block add 198.51.100.7",
	"dos show", "show dos 198.51.100.7", "dos allow del 192.0.2.0/24", "dos block del 198.51.100.7", "dos reset",
	"port config 0 rx_offload classify on", "flow validate 0 ingress pattern eth / ipv4 / udp dst is 53 / end actions count / drop / end",
	"flow create 0 ingress pattern eth / ipv4 / udp dst is 53 / end actions count / drop / end", "flow list 0",
	"flow query 0 0 count", "flow destroy 0 rule 0", "flow flush 0",
	"port stop 1", "port start 1", "port close 1", "quit",
}

// TestEveryCommandRuns: each command's handler takes what its grammar
// lets through (a handler expecting another argument shape would answer
// "Bad arguments" or an error here).
func TestEveryCommandRuns(t *testing.T) {
	needRoot(t)
	covered := map[string]bool{}
	for _, l := range everyCommand {
		cs, _ := lookupCommand(strings.Fields(l))
		for _, c := range cs {
			covered[c.usage()] = true
		}
	}
	for _, c := range commands {
		if !covered[c.usage()] {
			t.Errorf("everyCommand has no line for %q", c.usage())
		}
	}
	r := runBin(t, strings.Join(everyCommand, "\n")+"\n", 120*time.Second,
		append(eal(t, "net_null0", "net_null1"), "--", "-i", "--total-num-mbufs=8192")...)
	noPanic(t, r)
	if r.code != 0 {
		t.Fatalf("exit %d\n%s", r.code, r.stderr)
	}
	for _, bad := range []string{"Bad arguments", "Command not found"} {
		if strings.Contains(r.stdout, bad) {
			t.Errorf("a valid line got %q:\n%s", bad, r.stdout)
		}
	}
	for _, line := range strings.Split(r.stderr, "\n") {
		for _, c := range commands {
			if strings.HasPrefix(line, c.words+": ") {
				t.Errorf("a valid line failed: %s", line)
			}
		}
	}
	for _, want := range []string{"GRO flush timeout set to 40µs", "TSO segment size for non-tunneled packets is 1448",
		"USO segment size is 1400", "Port 1 is closed", "Bye...", "SA 0 added: sa 0 spi 0x00001000 out tunnel aes128gcm16",
		"Port 0: packets to 10.9.0.0/16 leave encrypted with SA 0", "Enc key:        [redacted] (20 bytes)", "SA 0 deleted",
		"Port 0: digest hmac-sha256/16 append key [redacted] (32 bytes)", "Port 0: digest cleared",
		"Flow rule validated", "Flow rule #0 created", "0\t0\t0\ti--\tETH IPV4 UDP => COUNT DROP", "COUNT:\n hits_set: 1\n bytes_set: 1\n hits: 0",
		"Flow rule #0 destroyed",
		"DoS syn.rate set to 500", "192.0.2.0/24 added to the DoS allow list", "    syn: {rate: 500, burst: 2000}",
		"198.51.100.7: blocked: dropped (198.51.100.7/32)", "198.51.100.7/32 removed from the DoS block list", "DoS filter state cleared"} {
		if !strings.Contains(r.stdout, want) {
			t.Errorf("output lacks %q", want)
		}
	}
}

// TestVhostGuestShown: offloadpmd's net_vhost port gets a guest,
// dpdk-testpmd on virtio_user with --rx-offloads=0x1c (TCP and UDP
// checksums and LRO: virtio advertises no IPv4 one), so it
// negotiates partial checksums and TCP super-frames. When it attaches,
// the port's table leaves to it what it took (`show port 0 offload`),
// and `show port info` names its features and the offloads left to it.
func TestVhostGuestShown(t *testing.T) {
	needRoot(t)
	testpmd := pmdtest.Testpmd(t)
	sock := t.TempDir() + "/vhost.sock"
	prefix := fmt.Sprintf("opmd_cmdtest_guest_%d", os.Getpid())
	t.Cleanup(func() { os.RemoveAll("/var/run/dpdk/" + prefix) })
	guest := exec.Command(testpmd, "-l", "0-1", "--no-huge", "-m", "512", "--single-file-segments", "--no-pci",
		"--file-prefix="+prefix, "--vdev=net_virtio_user0,path="+sock, "--",
		"-i", "--rx-offloads=0x1c", "--total-num-mbufs=4096")
	var guestOut strings.Builder
	guest.Stdout, guest.Stderr = &guestOut, &guestOut
	stdin, err := guest.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	go func() {
		// offloadpmd's vhost-user server listens once its port started.
		time.Sleep(3 * time.Second)
		if err := guest.Start(); err != nil {
			guestOut.WriteString("start: " + err.Error())
			return
		}
		time.Sleep(8 * time.Second)
		fmt.Fprintln(stdin, "quit")
		_ = stdin.Close()
		done := make(chan struct{})
		go func() { _ = guest.Wait(); close(done) }()
		select {
		case <-done:
		case <-time.After(10 * time.Second):
			_ = guest.Process.Kill()
		}
	}()
	r := runBinWithStdin(t, []string{"#sleep 5", "show port info 0", "show port 0 offload", "quit"},
		append(eal(t, "net_vhost0,iface="+sock), "--", "-i", "--total-num-mbufs=8192")...)
	noPanic(t, r)
	for _, want := range []string{"Guest features (virtio): guest_csum guest_tso4 guest_tso6", "Tx offloads left to the guest: UDP_CKSUM TCP_CKSUM TCP_TSO"} {
		if !strings.Contains(r.stdout, want) {
			t.Errorf("show port info 0 lacks %q:\n%s\nthe guest (testpmd):\n%s", want, r.stdout, guestOut.String())
		}
	}
	// The capability table: the guest's offloads are the port's hardware;
	// USO never is (22.11's vhost has no header for it).
	for _, row := range []string{`tx\s+tcp_cksum\s+yes\s`, `tx\s+tcp_tso\s+yes\s`, `tx\s+tcp_tso6\s+yes\s`, `tx\s+udp_tso\s+-\s`} {
		if !regexp.MustCompile(`(?m)^` + row).MatchString(r.stdout) {
			t.Errorf("show port 0 offload: no row matching %q:\n%s", row, r.stdout)
		}
	}
}
