package pmd

import (
	"fmt"
	"math"
	"strconv"
)

// DPDK telemetry: commands that a client such as dpdk-telemetry.py sends
// over the EAL's Unix socket (TelemetrySocket), answered by Go handlers
// (RegisterTelemetry). A handler returns a tree of TelValues; it is checked
// against everything DPDK 22.11's telemetry library would otherwise
// truncate, drop or refuse without a word, then copied into the library's
// struct rte_tel_data.

// Limits of DPDK 22.11's telemetry library (rte_telemetry.h, and
// lib/telemetry/telemetry.c for the command and output sizes).
const (
	telMaxString       = 127       // a string in a dict or array (RTE_TEL_MAX_STRING_LEN, with its NUL)
	telMaxSingleString = 8191      // a reply that is one string (RTE_TEL_MAX_SINGLE_STRING_LEN)
	telMaxName         = 127       // a dict entry's name
	telMaxDictEntries  = 256       // RTE_TEL_MAX_DICT_ENTRIES
	telMaxArrayEntries = 512       // RTE_TEL_MAX_ARRAY_ENTRIES
	telMaxCmd          = 55        // a command (MAX_CMD_LEN 56, with its NUL)
	telMaxHelp         = 127       // a command's help text
	telMaxOutput       = 16 * 1024 // the whole JSON reply (MAX_OUTPUT_LEN)
)

// TelValue is a telemetry reply or a part of one: a *TelDict, a TelArray, a
// TelString, a TelInt, a TelUint or a TelBool.
//
// DPDK 22.11 constrains the tree: a reply is a dict, an array or a string;
// dicts nest in dicts to any depth and hold arrays of scalars; an array
// holds scalars of one kind, or (a reply's top level only) arrays of
// scalars, never dicts. Names are letters, digits, '_' and '/'; strings are
// printable ASCII (and \t, \n, \r). The checks say which part breaks which
// rule.
type TelValue interface{ isTelValue() }

// TelString is a string: at most 127 bytes in a dict or array, 8191 as a
// whole reply.
type TelString string

// TelInt is a signed integer; DPDK holds it in a C int, so it must fit in
// 32 bits.
type TelInt int

// TelUint is an unsigned 64-bit integer.
type TelUint uint64

// TelBool is sent as the integer 0 or 1: telemetry has no booleans.
type TelBool bool

// TelArray is an array of values of one kind.
type TelArray []TelValue

// TelDict is a dictionary that keeps its entries in the order they were
// added. The zero value is an empty dict.
type TelDict struct{ entries []telEntry }

type telEntry struct {
	name string
	v    TelValue
}

func (TelString) isTelValue() {}
func (TelInt) isTelValue()    {}
func (TelUint) isTelValue()   {}
func (TelBool) isTelValue()   {}
func (TelArray) isTelValue()  {}
func (*TelDict) isTelValue()  {}

// Add appends an entry and returns d, so additions chain.
func (d *TelDict) Add(name string, v TelValue) *TelDict {
	d.entries = append(d.entries, telEntry{name, v})
	return d
}

// Len is the number of entries.
func (d *TelDict) Len() int { return len(d.entries) }

// TelHandler answers one telemetry command. params is what the request
// carried after its first comma ("" when nothing). It runs on one of DPDK's
// telemetry threads, one per connected client, so it may run concurrently
// with itself and with everything else, and should return promptly. A
// non-nil error is sent as {"error": "<its text>"}.
type TelHandler func(params string) (TelValue, error)

// TelKey turns s into a valid dict entry name: every character telemetry
// does not allow in names becomes '_' (e.g. "drop-ipv4-bad-len" becomes
// "drop_ipv4_bad_len"), and it is cut to 127 bytes.
func TelKey(s string) string {
	b := []byte(s)
	for i, c := range b {
		if !telNameChar(c) {
			b[i] = '_'
		}
	}
	if len(b) > telMaxName {
		b = b[:telMaxName]
	}
	return string(b)
}

func telNameChar(c byte) bool {
	return c >= '0' && c <= '9' || c >= 'A' && c <= 'Z' || c >= 'a' && c <= 'z' || c == '_' || c == '/'
}

// checkTelCommand checks a command and its help as
// rte_telemetry_register_cmd would.
func checkTelCommand(cmd, help string) error {
	switch {
	case len(cmd) < 2 || cmd[0] != '/':
		return fmt.Errorf("telemetry command %q: %w: it must start with '/' and name something", cmd, ErrInvalid)
	case len(cmd) > telMaxCmd:
		return fmt.Errorf("telemetry command %q: %w: %d bytes, DPDK takes at most %d", cmd, ErrInvalid, len(cmd), telMaxCmd)
	case len(help) > telMaxHelp:
		return fmt.Errorf("telemetry command %s: help: %w: %d bytes, DPDK takes at most %d", cmd, ErrInvalid, len(help), telMaxHelp)
	}
	for i := 0; i < len(cmd); i++ {
		if !telNameChar(cmd[i]) {
			return fmt.Errorf("telemetry command %q: %w: character %q at %d (letters, digits, '_' and '/' only)", cmd, ErrInvalid, cmd[i], i)
		}
	}
	if err := checkTelString(help, telMaxHelp); err != nil {
		return fmt.Errorf("telemetry command %s: help: %w", cmd, err)
	}
	return nil
}

// checkTelReply checks the reply v to cmd against DPDK 22.11's rules and
// limits, including the size of the JSON the library will write.
func checkTelReply(cmd string, v TelValue) error {
	var err error
	switch x := v.(type) {
	case TelString:
		err = checkTelString(string(x), telMaxSingleString)
	case *TelDict:
		err = checkTelDict(x, "")
	case TelArray:
		err = checkTelArray(x, "", true)
	case nil:
		err = fmt.Errorf("%w: no reply", ErrInvalid)
	default:
		err = fmt.Errorf("%w: a reply is a dict, an array or a string, not a %s", ErrInvalid, telKind(v))
	}
	if err != nil {
		return err
	}
	// The library writes {"<cmd>":<value>} into MAX_OUTPUT_LEN bytes and
	// leaves out, without a word, what does not fit; keep a few bytes'
	// margin for its terminators.
	limit := telMaxOutput - len(cmd) - len(`{"":}`) - 8
	if n := len(appendTelJSON(nil, v)); n > limit {
		return fmt.Errorf("%w: the reply is %d bytes of JSON; DPDK telemetry sends at most %d for %s", ErrInvalid, n, limit, cmd)
	}
	return nil
}

func checkTelDict(d *TelDict, path string) error {
	if d == nil {
		return fmt.Errorf("%s: %w: nil dict", where(path), ErrInvalid)
	}
	if len(d.entries) > telMaxDictEntries {
		return fmt.Errorf("%s: %w: %d entries, a telemetry dict holds at most %d", where(path), ErrInvalid, len(d.entries), telMaxDictEntries)
	}
	seen := make(map[string]bool, len(d.entries))
	for _, e := range d.entries {
		p := path + "/" + e.name
		if path == "" {
			p = e.name
		}
		if err := checkTelName(e.name); err != nil {
			return fmt.Errorf("%s: %w", where(p), err)
		}
		if seen[e.name] {
			return fmt.Errorf("%s: %w: the name appears twice", p, ErrInvalid)
		}
		seen[e.name] = true
		switch x := e.v.(type) {
		case *TelDict:
			if err := checkTelDict(x, p); err != nil {
				return err
			}
		case TelArray:
			if err := checkTelArray(x, p, false); err != nil {
				return err
			}
		default:
			if err := checkTelScalar(e.v); err != nil {
				return fmt.Errorf("%s: %w", p, err)
			}
		}
	}
	return nil
}

// checkTelArray checks an array; only a reply's top-level array may hold
// arrays (DPDK 22.11 renders an array of containers nowhere else).
func checkTelArray(a TelArray, path string, top bool) error {
	if len(a) > telMaxArrayEntries {
		return fmt.Errorf("%s: %w: %d entries, a telemetry array holds at most %d", where(path), ErrInvalid, len(a), telMaxArrayEntries)
	}
	kind := ""
	for i, v := range a {
		p := path + "/" + strconv.Itoa(i)
		if path == "" {
			p = strconv.Itoa(i)
		}
		k := telKind(v)
		if kind == "" {
			kind = k
		} else if k != kind {
			return fmt.Errorf("%s: %w: %s value in an array of %s values (telemetry arrays hold one kind)", p, ErrInvalid, k, kind)
		}
		switch x := v.(type) {
		case TelArray:
			if !top {
				return fmt.Errorf("%s: %w: DPDK 22.11 telemetry nests arrays only in a reply's top-level array", p, ErrInvalid)
			}
			if err := checkTelArray(x, p, false); err != nil {
				return err
			}
		case *TelDict:
			return fmt.Errorf("%s: %w: DPDK 22.11 telemetry cannot put a dict in an array; key the dicts in a dict instead", p, ErrInvalid)
		default:
			if err := checkTelScalar(v); err != nil {
				return fmt.Errorf("%s: %w", p, err)
			}
		}
	}
	return nil
}

// checkTelScalar checks a string or number inside a dict or array.
func checkTelScalar(v TelValue) error {
	switch x := v.(type) {
	case TelString:
		return checkTelString(string(x), telMaxString)
	case TelInt:
		return checkTelInt(x)
	case TelUint, TelBool:
		return nil
	}
	return fmt.Errorf("%w: a %s cannot be sent", ErrInvalid, telKind(v))
}

func checkTelName(n string) error {
	if n == "" || len(n) > telMaxName {
		return fmt.Errorf("%w: name of %d bytes (1 to %d)", ErrInvalid, len(n), telMaxName)
	}
	for i := 0; i < len(n); i++ {
		if !telNameChar(n[i]) {
			return fmt.Errorf("%w: name %q: character %q (letters, digits, '_' and '/' only; see TelKey)", ErrInvalid, n, n[i])
		}
	}
	return nil
}

// checkTelString: the library escapes '"', '\\', \t, \n and \r, drops
// other control characters and misreads bytes above 0x7f, so those are
// refused; so is anything longer than it keeps.
func checkTelString(s string, max int) error {
	if len(s) > max {
		return fmt.Errorf("%w: string of %d bytes, DPDK telemetry keeps %d", ErrInvalid, len(s), max)
	}
	for i := 0; i < len(s); i++ {
		if c := s[i]; (c < 0x20 && c != '\t' && c != '\n' && c != '\r') || c > 0x7e {
			return fmt.Errorf("%w: byte %#02x at %d of %q: telemetry strings are printable ASCII", ErrInvalid, c, i, s)
		}
	}
	return nil
}

func checkTelInt(x TelInt) error {
	if x < math.MinInt32 || x > math.MaxInt32 {
		return fmt.Errorf("%w: %d does not fit a C int; use TelUint", ErrInvalid, int(x))
	}
	return nil
}

func telKind(v TelValue) string {
	switch v.(type) {
	case TelString:
		return "string"
	case TelInt, TelBool:
		return "int"
	case TelUint:
		return "uint"
	case TelArray:
		return "array"
	case *TelDict:
		return "dict"
	case nil:
		return "nil"
	}
	return fmt.Sprintf("%T", v)
}

func where(path string) string {
	if path == "" {
		return "reply"
	}
	return path
}

// appendTelJSON writes v as DPDK 22.11's telemetry library does: no
// spaces, entries in order, strings with '"', '\\', \t, \n and \r escaped.
func appendTelJSON(b []byte, v TelValue) []byte {
	switch x := v.(type) {
	case TelString:
		b = append(b, '"')
		for i := 0; i < len(x); i++ {
			switch c := x[i]; c {
			case '"', '\\':
				b = append(b, '\\', c)
			case '\t':
				b = append(b, '\\', 't')
			case '\n':
				b = append(b, '\\', 'n')
			case '\r':
				b = append(b, '\\', 'r')
			default:
				b = append(b, c)
			}
		}
		b = append(b, '"')
	case TelInt:
		b = strconv.AppendInt(b, int64(x), 10)
	case TelUint:
		b = strconv.AppendUint(b, uint64(x), 10)
	case TelBool:
		if x {
			b = append(b, '1')
		} else {
			b = append(b, '0')
		}
	case TelArray:
		b = append(b, '[')
		for i, e := range x {
			if i > 0 {
				b = append(b, ',')
			}
			b = appendTelJSON(b, e)
		}
		b = append(b, ']')
	case *TelDict:
		b = append(b, '{')
		for i, e := range x.entries {
			if i > 0 {
				b = append(b, ',')
			}
			b = append(b, '"')
			b = append(b, e.name...)
			b = append(b, '"', ':')
			b = appendTelJSON(b, e.v)
		}
		b = append(b, '}')
	}
	return b
}

// telErrorReply is the reply that reports err: {"error": "<text>"}, the
// text made printable ASCII and cut (ending in "...") to what a
// telemetry string holds.
func telErrorReply(err error) *TelDict {
	b := []byte(err.Error())
	for i, c := range b {
		if c < 0x20 || c > 0x7e {
			b[i] = '?'
		}
	}
	if len(b) > telMaxString {
		b = append(b[:telMaxString-3], "..."...)
	}
	return (&TelDict{}).Add("error", TelString(b))
}
