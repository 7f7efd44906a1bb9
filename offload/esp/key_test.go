package esp

import (
	"bytes"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"testing"

	"go.yaml.in/yaml/v3"
)

// TestKeysRedacted prints and marshals keys, configs and SAs every way a
// log line or show output might, and looks for the key material in hex,
// in raw bytes and as Go byte-slice syntax.
func TestKeysRedacted(t *testing.T) {
	enc := bytes.Repeat([]byte{0xa7}, 20) // key and salt
	auth := bytes.Repeat([]byte{0xc3}, AuthKeyLen)
	gcm := Config{Name: "gcm", SPI: 0x2000, Dir: Outbound, Mode: Tunnel, Alg: AESGCM128, EncKey: NewKey(enc), Src: addr4a, Dst: addr4b}
	cbc := Config{Name: "cbc", SPI: 0x2001, Dir: Inbound, Mode: Transport, Alg: AESCBC128SHA256,
		EncKey: NewKey(enc[:16]), AuthKey: NewKey(auth)}
	var r Registry
	sa1, err := r.Add(gcm)
	if err != nil {
		t.Fatal(err)
	}
	sa2, err := r.Add(cbc)
	if err != nil {
		t.Fatal(err)
	}
	type holder struct {
		sa  *SA
		cfg Config
		key Key
	}
	values := []any{gcm.EncKey, &gcm.EncKey, gcm, &cbc, sa1, sa2, sa1.Info(), sa2.Config(),
		holder{sa1, cbc, cbc.AuthKey}, []*SA{sa1, sa2}, map[string]Config{"x": cbc}}
	var out strings.Builder
	for _, v := range values {
		for _, verb := range []string{"%v", "%+v", "%#v", "%s", "%x", "%X", "%q", "%d", "% x"} {
			fmt.Fprintf(&out, verb+"\n", v)
		}
		j, err := json.Marshal(v)
		if err != nil {
			t.Fatalf("json %T: %v", v, err)
		}
		out.Write(j)
		y, err := yaml.Marshal(v)
		if err == nil {
			out.Write(y)
		}
	}
	slog.New(slog.NewTextHandler(&out, nil)).Info("sa", "cfg", gcm, "key", gcm.EncKey, "sa", sa2)
	slog.New(slog.NewJSONHandler(&out, nil)).Info("sa", "cfg", cbc, "key", cbc.AuthKey, "sa", sa1)

	s := out.String()
	for _, secret := range [][]byte{enc[:4], auth[:4]} {
		for _, form := range []string{hex.EncodeToString(secret), strings.ToUpper(hex.EncodeToString(secret)), string(secret),
			fmt.Sprint(secret[:2]), "0xa7, 0xa7", "167 167", "195 195", "0xc3, 0xc3"} {
			if strings.Contains(s, form) {
				i := strings.Index(s, form)
				t.Fatalf("key material %q printed: ...%s...", form, s[max(0, i-80):min(len(s), i+40)])
			}
		}
	}
	if !strings.Contains(s, Redacted) || !strings.Contains(s, "spi 0x00002000") {
		t.Fatalf("no redacted key or SA description in:\n%s", s[:min(len(s), 2000)])
	}
}

// TestParseKey: hex with or without 0x, separators; errors do not quote
// the key.
func TestParseKey(t *testing.T) {
	for _, s := range []string{"0x0102030405", "0102030405", "01:02:03:04:05", "01 02 03 04 05", "0X0102030405"} {
		k, err := ParseKey(s)
		if err != nil || !bytes.Equal(k.Bytes(), []byte{1, 2, 3, 4, 5}) {
			t.Errorf("%q: %v %v", s, k.Len(), err)
		}
	}
	for _, s := range []string{"0x01020g", "012", Redacted} {
		_, err := ParseKey(s)
		if err == nil || strings.Contains(err.Error(), "0102") {
			t.Errorf("%q: %v", s, err)
		}
	}
	var c Config
	if err := json.Unmarshal([]byte(`{"spi":4660,"dir":"out","mode":"tunnel","alg":"aes128gcm16","enc_key":"0x`+
		strings.Repeat("ab", 20)+`","src":"10.0.0.1","dst":"10.0.0.2"}`), &c); err != nil {
		t.Fatal(err)
	}
	if err := c.Validate(); err != nil || c.EncKey.Len() != 20 || c.Alg != AESGCM128 || c.Dir != Outbound || c.Mode != Tunnel {
		t.Fatalf("%v: %+v", err, c)
	}
}

// TestValidate: each wrong field is named.
func TestValidate(t *testing.T) {
	good, _ := pairConfig(AESCBC256SHA256, Tunnel, false, false)
	if err := good.Validate(); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		want string
		edit func(c *Config)
	}{
		{"reserved", func(c *Config) { c.SPI = 255 }},
		{"direction", func(c *Config) { c.Dir = 0 }},
		{"mode", func(c *Config) { c.Mode = 9 }},
		{"no algorithm", func(c *Config) { c.Alg = AlgNone }},
		{"enc key: 16 bytes, aes256-sha256 takes 32", func(c *Config) { c.EncKey = keyOf(16, 0) }},
		{"auth key: 20 bytes", func(c *Config) { c.AuthKey = keyOf(20, 0) }},
		{"auth key: aes128gcm16 authenticates", func(c *Config) { c.Alg = AESGCM128; c.EncKey = keyOf(20, 0) }},
		{"enc key: 16 bytes, aes128gcm16 takes 20 (a 16-byte key and a 4-byte salt)", func(c *Config) {
			c.Alg = AESGCM128
			c.EncKey = keyOf(16, 0)
			c.AuthKey = Key{}
		}},
		{"replay window 5000", func(c *Config) { c.ReplayWindow = 5000 }},
		{"different IP versions", func(c *Config) { c.Dst = addr6b }},
		{"tunnel mode needs src and dst", func(c *Config) { c.Src = c.Src.Unmap(); c.Dst = Config{}.Dst }},
	} {
		cfg := good
		c.edit(&cfg)
		err := cfg.Validate()
		if err == nil || !errors.Is(err, ErrConfig) || !strings.Contains(err.Error(), c.want) {
			t.Errorf("want %q: %v", c.want, err)
		}
	}
}
