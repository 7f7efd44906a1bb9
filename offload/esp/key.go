package esp

import (
	"crypto/subtle"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"strings"
)

// Redacted is what every printed or marshalled key shows.
const Redacted = "[redacted]"

// Key is secret key material. Its bytes are reachable only through Bytes:
// String, GoString, Format (every fmt verb), MarshalJSON, MarshalText and
// LogValue all give Redacted. The bytes are held by a function value:
// fmt's reflection, which prints what a struct's unexported fields and
// pointers reach (even as the "%!s(...)" of a wrong verb), prints a
// function as an address. The zero Key is empty.
type Key struct {
	material func() []byte
}

// NewKey returns a Key holding a copy of b.
func NewKey(b []byte) Key {
	c := append([]byte(nil), b...)
	return Key{func() []byte { return c }}
}

// ParseKey reads a key written in hex, with or without a 0x prefix (as
// `ip xfrm state` takes it); spaces and colons between digits are
// ignored.
func ParseKey(s string) (Key, error) {
	if s == Redacted {
		return Key{}, errors.New("the key is redacted: give its hex digits")
	}
	t := strings.TrimPrefix(strings.TrimPrefix(s, "0x"), "0X")
	t = strings.NewReplacer(" ", "", ":", "").Replace(t)
	b, err := hex.DecodeString(t)
	defer clear(b)
	if err != nil {
		// The error would quote a digit of the key: say where instead.
		var e hex.InvalidByteError
		if errors.As(err, &e) {
			return Key{}, errors.New("key: a character that is not a hex digit")
		}
		return Key{}, errors.New("key: an odd number of hex digits")
	}
	return NewKey(b), nil
}

// Len is the key's length in bytes.
func (k Key) Len() int {
	if k.material == nil {
		return 0
	}
	return len(k.material())
}

// Bytes returns a copy of the key material.
func (k Key) Bytes() []byte {
	if k.material == nil {
		return nil
	}
	return append([]byte(nil), k.material()...)
}

// Equal reports whether k and o hold the same bytes.
func (k Key) Equal(o Key) bool { return subtle.ConstantTimeCompare(k.Bytes(), o.Bytes()) == 1 }

// String implements fmt.Stringer.
func (k Key) String() string { return Redacted }

// GoString implements fmt.GoStringer.
func (k Key) GoString() string { return Redacted }

// Format implements fmt.Formatter: every verb prints Redacted.
func (k Key) Format(f fmt.State, _ rune) { _, _ = io.WriteString(f, Redacted) }

// MarshalJSON implements json.Marshaler.
func (k Key) MarshalJSON() ([]byte, error) { return []byte(`"` + Redacted + `"`), nil }

// MarshalText implements encoding.TextMarshaler (YAML and others).
func (k Key) MarshalText() ([]byte, error) { return []byte(Redacted), nil }

// UnmarshalText implements encoding.TextUnmarshaler with ParseKey.
func (k *Key) UnmarshalText(b []byte) error {
	n, err := ParseKey(string(b))
	if err != nil {
		return err
	}
	*k = n
	return nil
}

// LogValue implements slog.LogValuer.
func (k Key) LogValue() slog.Value { return slog.StringValue(Redacted) }
