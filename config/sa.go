package config

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"net/netip"
	"os"
	"path/filepath"
	"strings"

	"go.yaml.in/yaml/v3"

	"github.com/offloadpmd/offloadpmd/offload"
	"github.com/offloadpmd/offloadpmd/offload/esp"
)

// A config file's sas section lists IPsec security associations. Their
// keys are never written in the config file itself: each SA names files
// holding them (enc_key_file, auth_key_file), in hex as `ip xfrm state`
// takes them. A config file is printed (--print-config), logged and shared;
// with the keys in files of their own (mode 0600) none of that shows them,
// and the printed config still reloads to the same SAs.

// SASpec is one SA of the config file: its configuration without the key
// material, which stays in the key files until the SA is installed
// (Config reads them).
type SASpec struct {
	// Index is the SA's place in the SA table (what `sa show` and
	// `sa del` name).
	Index uint16
	// SA is the SA's configuration; its EncKey and AuthKey are empty.
	SA esp.Config
	// EncKeyFile and AuthKeyFile hold the keys (AuthKeyFile: CBC only),
	// absolute paths.
	EncKeyFile, AuthKeyFile string
	// Policy, for an outbound SA, sends through it the packets leaving a
	// port for a destination.
	Policy *SAPolicy
}

// SAPolicy is an outbound SA's policy: packets leaving Port whose inner
// destination is in Dst (an invalid Dst: any) are encrypted with the SA.
type SAPolicy struct {
	Port uint16
	Dst  netip.Prefix
}

// Config reads the key files and returns the SA's full configuration. The
// key files are read again here (the loader checked them), so a key
// changed in its file since applies.
func (s *SASpec) Config() (esp.Config, error) {
	c := s.SA
	var err error
	if c.EncKey, _, err = readKeyFile(s.EncKeyFile); err != nil {
		return c, fmt.Errorf("sa %d: enc_key_file %s: %w", s.Index, s.EncKeyFile, err)
	}
	if s.AuthKeyFile != "" {
		if c.AuthKey, _, err = readKeyFile(s.AuthKeyFile); err != nil {
			return c, fmt.Errorf("sa %d: auth_key_file %s: %w", s.Index, s.AuthKeyFile, err)
		}
	}
	return c, nil
}

// maxKeyFile bounds a key file: the longest key is 36 bytes, 72 hex
// digits.
const maxKeyFile = 4096

// readKeyFile reads a key written in hex (a 0x prefix, spaces, colons and
// line breaks allowed). warn is set when others than the owner may read
// the file. Errors never quote the file's contents.
func readKeyFile(name string) (k esp.Key, warn string, err error) {
	f, err := os.Open(name)
	if err != nil {
		var pe *os.PathError
		if errors.As(err, &pe) {
			err = pe.Err
		}
		return k, "", fmt.Errorf("cannot read: %w", err)
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return k, "", fmt.Errorf("cannot read: %w", err)
	}
	if !fi.Mode().IsRegular() {
		return k, "", errors.New("not a regular file")
	}
	if perm := fi.Mode().Perm(); perm&0o077 != 0 {
		warn = fmt.Sprintf("key file %s may be read by others than its owner (mode %04o): chmod 600 it", name, perm)
	}
	data, err := io.ReadAll(io.LimitReader(f, maxKeyFile+1))
	defer clear(data)
	if err != nil {
		return k, "", fmt.Errorf("cannot read: %w", err)
	}
	if len(data) > maxKeyFile {
		return k, "", fmt.Errorf("more than %d bytes; want a key in hex", maxKeyFile)
	}
	hex := bytes.Join(bytes.Fields(data), nil)
	defer clear(hex)
	if len(hex) == 0 {
		return k, "", errors.New("empty; want a key in hex, e.g. as `ip xfrm state` takes it")
	}
	k, err = esp.ParseKey(string(hex))
	return k, warn, err
}

// sasSec reads the sas section.
func (l *loader) sasSec(v *yaml.Node, p string) {
	l.c.SAs = nil
	indices := map[uint16]int{} // index -> line
	var reg esp.Registry        // a trial table: the checks Registry.AddAt makes at run time
	l.list(v, p, "a list of SAs, each {spi: ..., dir: in|out, mode: ..., alg: ..., enc_key_file: ...}", func(i int, v *yaml.Node, p string) {
		s, ok := l.saSec(v, p, i)
		if !ok {
			return
		}
		n := resolve(v)
		if line, dup := indices[s.Index]; dup {
			l.errorf(n, p, "index %d is also the SA at line %d", s.Index, line)
			return
		}
		indices[s.Index] = n.Line
		// Build the SA once, as the application will: every check of
		// the SA table (keys, endpoints, duplicate SPIs) is reported here,
		// at its line. The key material is dropped with the trial table.
		cfg, err := s.Config()
		if err != nil {
			l.errorf(n, p, "%v", err)
			return
		}
		if _, err := reg.AddAt(s.Index, cfg); err != nil {
			l.errorf(n, p, "%v", err)
			return
		}
		l.c.SAs = append(l.c.SAs, s)
	})
}

// saFields are the keys of an SA, for messages.
var saFields = "index, name, spi, dir, mode, alg, enc_key_file, auth_key_file, src, dst, esn, replay_window, ttl, df, policy"

// saSec reads one SA. Its index defaults to its position i in the list.
func (l *loader) saSec(v *yaml.Node, p string, i int) (SASpec, bool) {
	s := SASpec{Index: uint16(min(i, esp.MaxSAs-1))}
	c := &s.SA
	n0 := len(l.errs)
	have := map[string]*yaml.Node{}
	seen := func(key string, v *yaml.Node) { have[key] = resolve(v) }
	inlineKey := func(file string) func(*yaml.Node, string) {
		return func(v *yaml.Node, p string) {
			// Never quote the value: it is a key.
			l.errorf(resolve(v), p, "keys are not written in the config file (it is printed and shared): "+
				"put the key in hex in a file readable by root only and give %s: PATH", file)
		}
	}
	keyFile := func(dst *string, key *esp.Key) func(*yaml.Node, string) {
		return func(v *yaml.Node, p string) {
			seen(p[strings.LastIndex(p, ".")+1:], v)
			name, ok := l.strVal(v, p)
			if !ok {
				return
			}
			if name == "" {
				l.errorf(resolve(v), p, "empty; want the path of a file holding the key in hex")
				return
			}
			if !filepath.IsAbs(name) {
				name = filepath.Join(filepath.Dir(l.f.name), name)
			}
			if abs, err := filepath.Abs(name); err == nil {
				name = abs
			}
			k, warn, err := readKeyFile(name)
			if err != nil {
				l.errorf(resolve(v), p, "%s: %v", name, err)
				return
			}
			if warn != "" {
				l.c.Warnings = append(l.c.Warnings, warn)
			}
			*dst, *key = name, k
		}
	}
	addr := func(dst *netip.Addr) func(*yaml.Node, string) {
		return func(v *yaml.Node, p string) {
			s, ok := l.strVal(v, p)
			if !ok || s == "" {
				return
			}
			a, err := netip.ParseAddr(s)
			if err != nil || a.Zone() != "" || a.Is4In6() {
				l.errorf(resolve(v), p, "%q is not an IPv4 or IPv6 address", s)
				return
			}
			*dst = a
		}
	}
	var enc, auth esp.Key
	l.mapping(v, p, []field{
		{"index", func(v *yaml.Node, p string) {
			if n, ok := l.uintVal(v, p, 0, esp.MaxSAs-1); ok {
				s.Index = uint16(n)
			}
		}},
		{"name", func(v *yaml.Node, p string) {
			if n, ok := l.strVal(v, p); ok {
				c.Name = n
			}
		}},
		{"spi", func(v *yaml.Node, p string) {
			seen("spi", v)
			if n, ok := l.uintVal(v, p, esp.MinSPI, 1<<32-1); ok {
				c.SPI = uint32(n)
			}
		}},
		{"dir", func(v *yaml.Node, p string) {
			seen("dir", v)
			if d, ok := l.oneOf(v, p, "an SA direction", []string{"in", "out"}); ok {
				c.Dir, _ = esp.ParseDirection(d)
			}
		}},
		{"mode", func(v *yaml.Node, p string) {
			seen("mode", v)
			if m, ok := l.oneOf(v, p, "an SA mode", []string{"tunnel", "transport"}); ok {
				c.Mode, _ = esp.ParseMode(m)
			}
		}},
		{"alg", func(v *yaml.Node, p string) {
			seen("alg", v)
			str, ok := l.strVal(v, p)
			if !ok {
				return
			}
			a, err := esp.ParseAlgorithm(str)
			if err != nil {
				names := algNames()
				l.errorf(resolve(v), p, "%q is not an ESP algorithm; allowed: %s%s", str, strings.Join(names, ", "), Suggest(str, names))
				return
			}
			c.Alg = a
		}},
		{"enc_key_file", keyFile(&s.EncKeyFile, &enc)},
		{"auth_key_file", keyFile(&s.AuthKeyFile, &auth)},
		{"enc_key", inlineKey("enc_key_file")},
		{"auth_key", inlineKey("auth_key_file")},
		{"src", addr(&c.Src)},
		{"dst", addr(&c.Dst)},
		{"esn", l.setBool(&c.ESN)},
		{"replay_window", func(v *yaml.Node, p string) {
			if n, ok := l.uintVal(v, p, 1, esp.MaxReplayWindow); ok {
				c.ReplayWindow = int(n)
			}
		}},
		{"ttl", func(v *yaml.Node, p string) {
			if n, ok := l.uintVal(v, p, 1, 255); ok {
				c.TTL = uint8(n)
			}
		}},
		{"df", func(v *yaml.Node, p string) {
			if d, ok := l.oneOf(v, p, "a DF policy", []string{"copy", "set", "clear"}); ok {
				_ = c.DF.UnmarshalText([]byte(d))
			}
		}},
		{"policy", func(v *yaml.Node, p string) {
			seen("policy", v)
			s.Policy = l.policySec(v, p)
		}},
	})
	if len(l.errs) > n0 {
		return s, false
	}
	n := resolve(v)
	if isNull(n) {
		l.errorf(n, p, "an empty SA; want keys %s", saFields)
		return s, false
	}
	for _, k := range []string{"spi", "dir", "mode", "alg", "enc_key_file"} {
		if have[k] == nil {
			l.errorf(n, p, "an SA needs %s (it has %s)", k, haveKeys(have))
			return s, false
		}
	}
	// Key lengths, at the key's line (the trial SA would say it at the
	// SA's).
	if want := c.Alg.EncKeyLen(); enc.Len() != want {
		what := ""
		if c.Alg.AEAD() {
			what = fmt.Sprintf(" (a %d-byte key, then the %d-byte salt, as `ip xfrm state ... aead 'rfc4106(gcm(aes))'` takes it)", c.Alg.KeyLen(), esp.SaltLen)
		}
		l.errorf(have["enc_key_file"], p+".enc_key_file", "the key is %d bytes; %v takes %d%s", enc.Len(), c.Alg, want, what)
		return s, false
	}
	switch want := c.Alg.AuthKeyLen(); {
	case want == 0 && have["auth_key_file"] != nil:
		l.errorf(have["auth_key_file"], p+".auth_key_file", "%v authenticates with its encryption key; give no auth key", c.Alg)
		return s, false
	case want > 0 && have["auth_key_file"] == nil:
		l.errorf(n, p, "%v needs auth_key_file (an HMAC-SHA-256 key of %d bytes)", c.Alg, want)
		return s, false
	case want > 0 && auth.Len() != want:
		l.errorf(have["auth_key_file"], p+".auth_key_file", "the key is %d bytes; HMAC-SHA-256-128 takes %d", auth.Len(), want)
		return s, false
	}
	if pol := s.Policy; pol != nil {
		if c.Dir != esp.Outbound {
			l.errorf(have["policy"], p+".policy", "a policy sends packets through an outbound SA; this one is dir: in")
			return s, false
		}
		if c.Mode == esp.Transport && pol.Dst.IsValid() && c.Family() != 0 && pol.Dst.Addr().Is4() != (c.Family() == 4) {
			l.errorf(have["policy"], p+".policy", "dst %v: this transport-mode SA carries IPv%d only", pol.Dst, c.Family())
			return s, false
		}
	}
	return s, true
}

// policySec reads an SA's policy: {port: N, dst: PREFIX|any}.
func (l *loader) policySec(v *yaml.Node, p string) *SAPolicy {
	pol := &SAPolicy{}
	hasPort := false
	n0 := len(l.errs)
	l.mapping(v, p, []field{
		{"port", func(v *yaml.Node, p string) {
			if n, ok := l.uintVal(v, p, 0, offload.MaxPorts-1); ok {
				pol.Port, hasPort = uint16(n), true
			}
		}},
		{"dst", func(v *yaml.Node, p string) {
			s, ok := l.strVal(v, p)
			if !ok || s == "" || s == "any" {
				return
			}
			pf, err := ParsePrefix(s)
			if err != nil {
				l.errorf(resolve(v), p, "%v", err)
				return
			}
			pol.Dst = pf
		}},
	})
	if len(l.errs) > n0 {
		return nil
	}
	if !hasPort {
		l.errorf(resolve(v), p, "a policy needs port (the egress port): {port: N, dst: PREFIX|any}")
		return nil
	}
	return pol
}

// ParsePrefix reads a policy's destination: an address prefix
// ("10.0.0.0/24", "fd00::/64") or one address (a /32 or /128). The prefix
// is masked: host bits set are an error, as they usually mean a typo.
func ParsePrefix(s string) (netip.Prefix, error) {
	if a, err := netip.ParseAddr(s); err == nil && a.Zone() == "" && !a.Is4In6() {
		return netip.PrefixFrom(a, a.BitLen()), nil
	}
	pf, err := netip.ParsePrefix(s)
	if err != nil || pf.Addr().Is4In6() {
		return netip.Prefix{}, fmt.Errorf("%q is not an address prefix; want e.g. 10.0.0.0/24, fd00::/64 or one address", s)
	}
	if pf.Masked() != pf {
		return netip.Prefix{}, fmt.Errorf("%q has bits set past its length; did you mean %v?", s, pf.Masked())
	}
	return pf, nil
}

func algNames() []string {
	var n []string
	for _, a := range esp.Algorithms() {
		n = append(n, a.String())
	}
	return n
}

func haveKeys(have map[string]*yaml.Node) string {
	var k []string
	for _, f := range strings.Split(saFields, ", ") {
		if have[f] != nil {
			k = append(k, f)
		}
	}
	if len(k) == 0 {
		return "none of them"
	}
	return strings.Join(k, ", ")
}

// The sas section as printed.
type (
	yamlSA struct {
		Index        uint16        `yaml:"index"`
		Name         string        `yaml:"name,omitempty"`
		SPI          hexU32        `yaml:"spi"`
		Dir          string        `yaml:"dir"`
		Mode         string        `yaml:"mode"`
		Alg          string        `yaml:"alg"`
		EncKeyFile   string        `yaml:"enc_key_file"`
		AuthKeyFile  string        `yaml:"auth_key_file,omitempty"`
		Src          string        `yaml:"src,omitempty"`
		Dst          string        `yaml:"dst,omitempty"`
		ESN          bool          `yaml:"esn,omitempty"`
		ReplayWindow int           `yaml:"replay_window,omitempty"`
		TTL          uint8         `yaml:"ttl,omitempty"`
		DF           string        `yaml:"df,omitempty"`
		Policy       *yamlSAPolicy `yaml:"policy,omitempty,flow"`
	}
	yamlSAPolicy struct {
		Port uint16 `yaml:"port"`
		Dst  string `yaml:"dst"`
	}
	// hexU32 prints as a YAML integer in hex, as SPIs are written.
	hexU32 uint32
)

// MarshalYAML implements yaml.Marshaler.
func (h hexU32) MarshalYAML() (any, error) {
	return &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!int", Value: fmt.Sprintf("0x%x", uint32(h))}, nil
}

func sasOf(specs []SASpec) []yamlSA {
	var out []yamlSA
	for _, s := range specs {
		c := s.SA
		y := yamlSA{Index: s.Index, Name: c.Name, SPI: hexU32(c.SPI), Dir: c.Dir.String(), Mode: c.Mode.String(),
			Alg: c.Alg.String(), EncKeyFile: s.EncKeyFile, AuthKeyFile: s.AuthKeyFile, ESN: c.ESN,
			ReplayWindow: c.ReplayWindow, TTL: c.TTL}
		if c.Src.IsValid() {
			y.Src = c.Src.String()
		}
		if c.Dst.IsValid() {
			y.Dst = c.Dst.String()
		}
		if c.DF != esp.DFCopy {
			y.DF = c.DF.String()
		}
		if s.Policy != nil {
			y.Policy = &yamlSAPolicy{Port: s.Policy.Port, Dst: "any"}
			if s.Policy.Dst.IsValid() {
				y.Policy.Dst = s.Policy.Dst.String()
			}
		}
		out = append(out, y)
	}
	return out
}
