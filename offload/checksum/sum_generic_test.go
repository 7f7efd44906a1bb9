//go:build !amd64 || purego

package checksum

// archPaths returns the paths of Sum this architecture has besides Sum and
// sumGeneric, or why there are none.
func archPaths() ([]sumPath, string) {
	return nil, "no assembly paths in this build"
}
