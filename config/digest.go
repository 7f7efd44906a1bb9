package config

import (
	"fmt"
	"path/filepath"
	"strings"

	"go.yaml.in/yaml/v3"

	"github.com/offloadpmd/offloadpmd/offload/digest"
)

// A port of the config file may have a digest (ports[i].digest): the one
// its TX digest requests get, and its received packets are checked
// against (pipeline.DigestConfig; the CLI's `digest set`). As for the SAs,
// an HMAC key is never written in the config file: key_file names a file
// holding it in hex.
//
//	ports:
//	  - devargs: net_ring0
//	    offloads: {tx: [digest], rx: [digest_verify]}
//	    digest: {alg: hmac-sha256, key_file: digest.key, len: 16, mode: append}

// DigestModes are the places received digests may be (pipeline.DigestMode).
var DigestModes = []string{"append", "dynfield"}

// DigestSpec is a port's digest from the config file, without its key.
type DigestSpec struct {
	// Device is the port's vdev or TAP name, as PortWanted's.
	Device string
	Alg    digest.Algorithm
	// KeyFile holds the HMAC key (hmac-sha256 only), an absolute path.
	KeyFile string
	// Len is how many leading bytes of the digest are kept; 0: all.
	Len int
	// Mode is where received digests are: "append" or "dynfield".
	Mode string
}

// Config reads the key file and returns the digest engine's
// configuration. The file is read again here (the loader checked it), so
// a key changed in its file since applies.
func (s *DigestSpec) Config() (digest.Config, error) {
	c := digest.Config{Alg: s.Alg, Size: s.Len}
	if s.KeyFile != "" {
		k, _, err := readKeyFile(s.KeyFile)
		if err != nil {
			return c, fmt.Errorf("digest: key_file %s: %w", s.KeyFile, err)
		}
		c.Key = k
	}
	return c, nil
}

// digestFields are the keys of a port's digest, for messages.
var digestFields = "alg, key_file, len, mode"

func digestAlgNames() []string {
	var n []string
	for a := digest.HMACSHA256; a <= digest.CRC32C; a++ {
		n = append(n, a.String())
	}
	return n
}

// digestSec reads a port's digest section; nil if it is wrong (reported).
func (l *loader) digestSec(v *yaml.Node, p string) *DigestSpec {
	s := &DigestSpec{Mode: DigestModes[0]}
	n0 := len(l.errs)
	hasAlg := false
	var keyNode *yaml.Node
	var cfg digest.Config
	l.mapping(v, p, []field{
		{"alg", func(v *yaml.Node, p string) {
			str, ok := l.strVal(v, p)
			if !ok {
				return
			}
			a, err := digest.ParseAlgorithm(str)
			if err != nil {
				names := digestAlgNames()
				l.errorf(resolve(v), p, "%q is not a digest; allowed: %s%s", str, strings.Join(names, ", "), Suggest(str, names))
				return
			}
			s.Alg, hasAlg = a, true
		}},
		{"key_file", func(v *yaml.Node, p string) {
			keyNode = resolve(v)
			name, ok := l.strVal(v, p)
			if !ok {
				return
			}
			if name == "" {
				l.errorf(keyNode, p, "empty; want the path of a file holding the key in hex")
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
				l.errorf(keyNode, p, "%s: %v", name, err)
				return
			}
			if warn != "" {
				l.c.Warnings = append(l.c.Warnings, warn)
			}
			s.KeyFile, cfg.Key = name, k
		}},
		{"key", func(v *yaml.Node, p string) {
			// Never quote the value: it is a key.
			l.errorf(resolve(v), p, "keys are not written in the config file (it is printed and shared): "+
				"put the key in hex in a file readable by root only and give key_file: PATH")
		}},
		{"len", func(v *yaml.Node, p string) {
			if n, ok := l.uintVal(v, p, 0, digest.MaxSize); ok {
				s.Len = int(n)
			}
		}},
		{"mode", func(v *yaml.Node, p string) {
			if m, ok := l.oneOf(v, p, "a digest mode", DigestModes); ok {
				s.Mode = m
			}
		}},
	})
	if len(l.errs) > n0 {
		return nil
	}
	n := resolve(v)
	if !hasAlg {
		l.errorf(n, p, "a digest needs alg (%s); keys: %s", strings.Join(digestAlgNames(), ", "), digestFields)
		return nil
	}
	// Build the digest once, as the application will: its checks (a key
	// for HMAC only, the length) are reported here.
	cfg.Alg, cfg.Size = s.Alg, s.Len
	if _, err := digest.New(cfg); err != nil {
		at, path := n, p
		if keyNode != nil && strings.Contains(err.Error(), "key") {
			at, path = keyNode, p+".key_file"
		}
		l.errorf(at, path, "%v", err)
		return nil
	}
	return s
}

// yamlDigest is a port's digest in the config file's schema.
type yamlDigest struct {
	Alg     string `yaml:"alg"`
	KeyFile string `yaml:"key_file,omitempty"`
	Len     int    `yaml:"len,omitempty"`
	Mode    string `yaml:"mode"`
}

// digestOf is port id's digest for printing (nil: none).
func (c *Config) digestOf(id uint16) *yamlDigest {
	s, ok := c.PortDigests[id]
	if !ok {
		return nil
	}
	return &yamlDigest{Alg: s.Alg.String(), KeyFile: s.KeyFile, Len: s.Len, Mode: s.Mode}
}
