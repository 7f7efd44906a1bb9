//go:build !amd64 || purego

package checksum

// sum is Sum.
func sum(b []byte, initial uint16) uint16 { return sumGeneric(b, initial) }

// sumLE is the 64-bit one's-complement sum of b as little-endian words.
func sumLE(b []byte) uint64 { return sumLEGeneric(b) }
