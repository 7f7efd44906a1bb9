package xfrmtest

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
)

// bin is the offloadpmd binary built for these tests.
var bin string

func TestMain(m *testing.M) {
	if os.Getenv(agentEnv) != "" {
		runAgent() // in the VM: never returns
	}
	if b := os.Getenv("OPMD_XFRM_BIN"); b != "" {
		// A binary built elsewhere (debugging).
		bin = b
		os.Exit(m.Run())
	}
	dir, err := os.MkdirTemp("", "offloadpmd-xfrm")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	bin = filepath.Join(dir, "offloadpmd")
	if out, err := exec.Command("go", "build", "-o", bin, "..").CombinedOutput(); err != nil {
		fmt.Fprintf(os.Stderr, "build: %v\n%s", err, out)
		os.Exit(1)
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}
