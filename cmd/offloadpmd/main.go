// Command offloadpmd is a software task-offload NIC: a DPDK poll-mode
// packet processor driven like dpdk-testpmd.
//
//	offloadpmd [EAL options] -- [testpmd options]
//
// Without EAL options it runs on an embedded default: two net_null ports,
// no hugepages, no NIC. Run with --help for the options.
package main

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"

	"github.com/mattn/go-isatty"
	"github.com/rs/zerolog"
	"github.com/rs/zerolog/log"

	"github.com/offloadpmd/offloadpmd/config"
	"github.com/offloadpmd/offloadpmd/pipeline"
	"github.com/offloadpmd/offloadpmd/pmd"
)

// The config file numbers TAP ports as pmd does.
var (
	_ = uint(config.FirstTapPort - pmd.FirstGoPort)
	_ = uint(pmd.FirstGoPort - config.FirstTapPort)
)

func main() {
	os.Exit(run(os.Args[1:], os.Stdin, os.Stdout, os.Stderr))
}

// run is main without the process exit, for tests.
func run(args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	prog := filepath.Base(programName())
	config.KnownEngines = nil
	for _, e := range pipeline.Engines {
		config.KnownEngines = append(config.KnownEngines, e.Name)
	}
	cfg, err := config.Parse(args)
	if err != nil {
		if !errors.Is(err, config.ErrConfigFile) {
			fmt.Fprint(stdout, config.Usage(prog))
		}
		fmt.Fprintf(stderr, "%s: %v\n", prog, err)
		return 1
	}
	if cfg.Help {
		fmt.Fprint(stdout, config.Usage(prog))
		return 0
	}
	if cfg.PrintConfig {
		// Before any EAL init: the configuration only.
		if err := cfg.WriteYAML(stdout); err != nil {
			fmt.Fprintf(stderr, "%s: %v\n", prog, err)
			return 1
		}
		return 0
	}
	setupLogging(cfg.LogLevel, stderr)
	for _, w := range cfg.Warnings {
		log.Warn().Msg(w)
	}
	a := newApp(cfg, stdin, stdout, stderr)
	if err := a.run(); err != nil {
		fmt.Fprintf(stderr, "%s: error: %v\n", prog, err)
		var ee *exitError
		if errors.As(err, &ee) {
			return ee.code
		}
		return 1
	}
	return 0
}

func programName() string {
	if len(os.Args) > 0 {
		return os.Args[0]
	}
	return "offloadpmd"
}

// setupLogging sends zerolog output to stderr: human-readable on a
// terminal, JSON lines otherwise.
func setupLogging(level string, stderr io.Writer) {
	lvl, err := zerolog.ParseLevel(level)
	if err != nil {
		lvl = zerolog.InfoLevel
	}
	zerolog.SetGlobalLevel(lvl)
	var w io.Writer = stderr
	if f, ok := stderr.(*os.File); ok && isatty.IsTerminal(f.Fd()) {
		w = zerolog.ConsoleWriter{Out: stderr, TimeFormat: "15:04:05.000"}
	}
	log.Logger = zerolog.New(w).With().Timestamp().Str("app", "offloadpmd").Logger()
}

// exitError carries a specific exit status.
type exitError struct {
	code int
	err  error
}

func (e *exitError) Error() string { return e.err.Error() }
func (e *exitError) Unwrap() error { return e.err }
