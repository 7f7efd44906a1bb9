package pkt

import (
	"bytes"
	"testing"
)

func TestCopySpan(t *testing.T) {
	whole := []byte("0123456789abcdefghij")
	segs := [][]byte{whole[:3], whole[3:4], whole[4:11], whole[11:]}
	for off := 0; off <= len(whole); off++ {
		for n := 0; off+n <= len(whole); n++ {
			dst := make([]byte, n)
			if got := Copy(dst, segs, Span{off, n}); got != n || !bytes.Equal(dst, whole[off:off+n]) {
				t.Fatalf("span %d+%d: %d %q", off, n, got, dst)
			}
		}
	}
	short := make([]byte, 2)
	if Copy(short, segs, Span{5, 10}) != 2 || string(short) != "56" {
		t.Fatalf("short dst: %q", short)
	}
}

func TestSliceStore(t *testing.T) {
	var s SliceStore
	a := s.Put([]byte("head"))
	b := s.Put([]byte("XXtail"))
	if !s.Append(a, b, 2) || string(s.Bytes(a)) != "headtail" || s.Live() != 1 {
		t.Fatalf("append: %q live %d", s.Bytes(a), s.Live())
	}
	s.Limit = 10
	c := s.Put([]byte("123"))
	if s.Append(a, c, 0) || s.Live() != 2 {
		t.Fatal("append past the limit was accepted")
	}
	s.Trim(a, 4)
	if string(s.Bytes(a)) != "head" {
		t.Fatal(s.Bytes(a))
	}
	s.Free(a)
	s.Free(c)
	if s.Live() != 0 || s.Put(nil) != c {
		t.Fatal("handles are not reused")
	}
}
