package pmd_test

import (
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"strings"
	"sync"
	"testing"

	"github.com/offloadpmd/offloadpmd/pmd"
	"github.com/offloadpmd/offloadpmd/pmd/pmdtest"
)

// telTree is a reply with every kind of value and nesting DPDK 22.11 takes.
func telTree() *pmd.TelDict {
	return (&pmd.TelDict{}).
		Add("name", pmd.TelString("a \"quoted\" \\ tab\tend")).
		Add("neg", pmd.TelInt(-5)).
		Add("big", pmd.TelUint(math.MaxUint64)).
		Add("on", pmd.TelBool(true)).
		Add("off", pmd.TelBool(false)).
		Add("nested", (&pmd.TelDict{}).
			Add("deeper", (&pmd.TelDict{}).Add("x", pmd.TelUint(1))).
			Add("list", pmd.TelArray{pmd.TelString("a"), pmd.TelString("b")})).
		Add("ints", pmd.TelArray{pmd.TelInt(1), pmd.TelInt(-2), pmd.TelBool(true)}).
		Add("empty", &pmd.TelDict{}).
		Add("none", pmd.TelArray{}).
		Add("a/b_c", pmd.TelString(""))
}

const telTreeJSON = `{"name":"a \"quoted\" \\ tab\tend","neg":-5,"big":18446744073709551615,"on":1,"off":0,` +
	`"nested":{"deeper":{"x":1},"list":["a","b"]},"ints":[1,-2,1],"empty":{},"none":[],"a/b_c":""}`

func register(t *testing.T, eal *pmd.EAL, cmd string, fn pmd.TelHandler) {
	t.Helper()
	if err := eal.RegisterTelemetry(cmd, "test command "+cmd, fn); err != nil {
		t.Fatal(err)
	}
}

func constReply(v pmd.TelValue) pmd.TelHandler {
	return func(string) (pmd.TelValue, error) { return v, nil }
}

// TestTelemetryReplies registers commands and reads them back through the
// telemetry socket: every kind of value arrives as the JSON it stands for,
// byte for byte, and what DPDK would mangle comes back as an error naming
// the problem.
func TestTelemetryReplies(t *testing.T) {
	eal := pmdtest.Need(t)
	register(t, eal, "/opmd_test/tree", constReply(telTree()))
	register(t, eal, "/opmd_test/matrix", constReply(pmd.TelArray{
		pmd.TelArray{pmd.TelUint(1), pmd.TelUint(2)}, pmd.TelArray{pmd.TelString("x")}, pmd.TelArray{}}))
	register(t, eal, "/opmd_test/str", constReply(pmd.TelString("hello")))
	register(t, eal, "/opmd_test/echo", func(p string) (pmd.TelValue, error) {
		return (&pmd.TelDict{}).Add("params", pmd.TelString(p)), nil
	})
	register(t, eal, "/opmd_test/fail", func(p string) (pmd.TelValue, error) {
		return nil, fmt.Errorf("port %s: no such port", p)
	})
	register(t, eal, "/opmd_test/panic", func(string) (pmd.TelValue, error) { panic("boom") })
	register(t, eal, "/opmd_test/long", constReply((&pmd.TelDict{}).Add("s", pmd.TelString(strings.Repeat("x", 128)))))
	register(t, eal, "/opmd_test/dictarray", constReply(pmd.TelArray{&pmd.TelDict{}}))
	register(t, eal, "/opmd_test/badname", constReply((&pmd.TelDict{}).Add("a-b", pmd.TelUint(1))))
	register(t, eal, "/opmd_test/nonascii", constReply((&pmd.TelDict{}).Add("s", pmd.TelString("caf\xc3\xa9"))))
	register(t, eal, "/opmd_test/mixed", constReply((&pmd.TelDict{}).Add("a", pmd.TelArray{pmd.TelUint(1), pmd.TelInt(1)})))
	register(t, eal, "/opmd_test/bigint", constReply((&pmd.TelDict{}).Add("n", pmd.TelInt(1<<40))))
	register(t, eal, "/opmd_test/nil", constReply(nil))

	cases := []struct{ req, want string }{
		{"/opmd_test/tree", `{"/opmd_test/tree":` + telTreeJSON + `}`},
		{"/opmd_test/matrix", `{"/opmd_test/matrix":[[1,2],["x"],[]]}`},
		{"/opmd_test/str", `{"/opmd_test/str":"hello"}`},
		{"/opmd_test/echo,a,b", `{"/opmd_test/echo":{"params":"a,b"}}`},
		{"/opmd_test/echo", `{"/opmd_test/echo":{"params":""}}`},
		{"/opmd_test/fail,9", `{"/opmd_test/fail":{"error":"port 9: no such port"}}`},
		{"/help,/opmd_test/tree", `{"/help":{"/opmd_test/tree":"test command /opmd_test/tree"}}`},
	}
	var reqs []string
	for _, c := range cases {
		reqs = append(reqs, c.req)
	}
	got, err := pmdtest.Telemetry(eal.TelemetrySocket(), reqs...)
	if err != nil {
		t.Fatal(err)
	}
	for i, c := range cases {
		if got[i] != c.want {
			t.Errorf("%s:\n got %s\nwant %s", c.req, got[i], c.want)
		}
		if !json.Valid([]byte(got[i])) {
			t.Errorf("%s: not JSON: %s", c.req, got[i])
		}
	}

	errs := []struct{ req, want string }{
		{"/opmd_test/panic", "internal error in /opmd_test/panic: boom"},
		{"/opmd_test/long", "s: invalid argument: string of 128 bytes, DPDK telemetry keeps 127"},
		{"/opmd_test/dictarray", "0: invalid argument: DPDK 22.11 telemetry cannot put a dict in an array"},
		{"/opmd_test/badname", `name "a-b": character '-'`},
		{"/opmd_test/nonascii", "byte 0xc3 at 3"},
		{"/opmd_test/mixed", "a/1: invalid argument: int value in an array of uint values"},
		{"/opmd_test/bigint", "n: invalid argument: 1099511627776 does not fit a C int"},
		{"/opmd_test/nil", "no reply"},
	}
	reqs = reqs[:0]
	for _, c := range errs {
		reqs = append(reqs, c.req)
	}
	got, err = pmdtest.Telemetry(eal.TelemetrySocket(), reqs...)
	if err != nil {
		t.Fatal(err)
	}
	for i, c := range errs {
		var r map[string]map[string]string
		if err := json.Unmarshal([]byte(got[i]), &r); err != nil {
			t.Errorf("%s: %v: %s", c.req, err, got[i])
			continue
		}
		if e := r[c.req]["error"]; !strings.Contains(e, c.want) {
			t.Errorf("%s: error %q, want it to say %q", c.req, e, c.want)
		}
	}
}

// TestTelemetryOutputLimit: a reply that just fits the library's output
// buffer arrives whole; one byte more is refused with an error rather than
// sent with entries silently left out.
func TestTelemetryOutputLimit(t *testing.T) {
	eal := pmdtest.Need(t)
	const cmd = "/opmd_test/size"
	limit := 16*1024 - len(cmd) - len(`{"":}`) - 8
	// build makes a dict of n entries "k000":"vvv..." whose JSON is size
	// bytes: 1 + 10n bytes without the values, the rest spread over them.
	build := func(size int) (*pmd.TelDict, string) {
		n := (size - 1 + 109) / 110
		rest := size - 1 - 10*n
		d := &pmd.TelDict{}
		var js strings.Builder
		js.WriteString("{")
		for i := range n {
			v := strings.Repeat("v", rest/n+map[bool]int{true: 1}[i < rest%n])
			d.Add(fmt.Sprintf("k%03d", i), pmd.TelString(v))
			if i > 0 {
				js.WriteString(",")
			}
			fmt.Fprintf(&js, `"k%03d":"%s"`, i, v)
		}
		js.WriteString("}")
		if js.Len() != size {
			t.Fatalf("built %d bytes of JSON, want %d", js.Len(), size)
		}
		return d, js.String()
	}
	var (
		mu    sync.Mutex // the handler runs on a telemetry thread
		reply pmd.TelValue
	)
	register(t, eal, cmd, func(string) (pmd.TelValue, error) { mu.Lock(); defer mu.Unlock(); return reply, nil })

	fits, want := build(limit)
	mu.Lock()
	reply = fits
	mu.Unlock()
	got, err := pmdtest.Telemetry(eal.TelemetrySocket(), cmd)
	if err != nil {
		t.Fatal(err)
	}
	if w := `{"` + cmd + `":` + want + `}`; got[0] != w {
		t.Fatalf("a reply of %d bytes: got %d bytes back, want %d", limit, len(got[0]), len(w))
	}

	mu.Lock()
	reply, _ = build(limit + 1)
	mu.Unlock()
	got, err = pmdtest.Telemetry(eal.TelemetrySocket(), cmd)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(got[0], fmt.Sprintf(`"error":"telemetry %s: invalid argument: the reply is %d bytes of JSON`, cmd, limit+1)) {
		t.Fatalf("a reply of %d bytes: %s", limit+1, got[0])
	}
}

// TestTelemetryRegister: bad commands are refused with the reason;
// registering a command again replaces its handler and lists it once.
func TestTelemetryRegister(t *testing.T) {
	eal := pmdtest.Need(t)
	ok := constReply(pmd.TelString("x"))
	for _, c := range []struct{ cmd, help string }{
		{"", "h"}, {"noslash", "h"}, {"/bad-dash", "h"}, {"/" + strings.Repeat("a", 55), "h"},
		{"/opmd_test/h", strings.Repeat("h", 128)}, {"/opmd_test/h", "caf\xc3\xa9"},
	} {
		if err := eal.RegisterTelemetry(c.cmd, c.help, ok); !errors.Is(err, pmd.ErrInvalid) {
			t.Errorf("register %q (help of %d bytes): %v, want ErrInvalid", c.cmd, len(c.help), err)
		}
	}
	if err := eal.RegisterTelemetry("/opmd_test/nilfn", "h", nil); !errors.Is(err, pmd.ErrInvalid) {
		t.Errorf("register with no handler: %v, want ErrInvalid", err)
	}
	register(t, eal, "/opmd_test/rereg", constReply(pmd.TelUint(1)))
	register(t, eal, "/opmd_test/rereg", constReply((&pmd.TelDict{}).Add("v", pmd.TelUint(2))))
	got, err := pmdtest.Telemetry(eal.TelemetrySocket(), "/opmd_test/rereg", "/")
	if err != nil {
		t.Fatal(err)
	}
	if want := `{"/opmd_test/rereg":{"v":2}}`; got[0] != want {
		t.Errorf("after re-registering: %s, want %s", got[0], want)
	}
	if n := strings.Count(got[1], `"/opmd_test/rereg"`); n != 1 {
		t.Errorf("/ lists /opmd_test/rereg %d times: %s", n, got[1])
	}
}

// TestTelemetryConcurrentClients: several clients at once, each served on
// its own DPDK thread calling into Go, all get whole replies.
func TestTelemetryConcurrentClients(t *testing.T) {
	eal := pmdtest.Need(t)
	register(t, eal, "/opmd_test/conc", constReply(telTree()))
	want := `{"/opmd_test/conc":` + telTreeJSON + `}`
	reqs := make([]string, 50)
	for i := range reqs {
		reqs[i] = "/opmd_test/conc"
	}
	var wg sync.WaitGroup
	for c := 0; c < 4; c++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			got, err := pmdtest.Telemetry(eal.TelemetrySocket(), reqs...)
			if err != nil {
				t.Error(err)
				return
			}
			for _, g := range got {
				if g != want {
					t.Errorf("got %s", g)
					return
				}
			}
		}()
	}
	wg.Wait()
}

func TestTelKey(t *testing.T) {
	for in, want := range map[string]string{
		"drop-ipv4-bad-len": "drop_ipv4_bad_len", "rx/ipv4_cksum": "rx/ipv4_cksum", "a b.c": "a_b_c",
		strings.Repeat("x", 130): strings.Repeat("x", 127),
	} {
		if got := pmd.TelKey(in); got != want {
			t.Errorf("TelKey(%q) = %q, want %q", in, got, want)
		}
	}
}
