package classify

import (
	"testing"
	"unsafe"
)

// TestSizes: two leaf entries to a cache line, and keys whose Tuple never
// straddles one.
func TestSizes(t *testing.T) {
	if s := unsafe.Sizeof(leafRule{}); s != leafRuleSize {
		t.Errorf("leafRule is %d bytes, not %d", s, leafRuleSize)
	}
	if s := unsafe.Sizeof(Key{}); s != 96 {
		t.Errorf("Key is %d bytes, not 96", s)
	}
}
