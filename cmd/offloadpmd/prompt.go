package main

import (
	"bufio"
	"errors"
	"io"
	"os"
	"path/filepath"

	"github.com/mattn/go-isatty"
	"github.com/peterh/liner"
	"github.com/rs/zerolog/log"
)

// prompter reads command lines: with line editing, history and completion
// on a terminal, plainly from a pipe or file (where the prompt is still
// printed, as testpmd prints it, so transcripts read the same).
type prompter interface {
	prompt(p string) (string, error)
	close()
}

func (a *app) newPrompter() prompter {
	f, isFile := a.stdin.(*os.File)
	if !isFile || !isatty.IsTerminal(f.Fd()) || !isatty.IsTerminal(os.Stdout.Fd()) {
		return &plainPrompter{a: a, sc: bufio.NewScanner(a.stdin)}
	}
	ln := liner.NewLiner()
	ln.SetCtrlCAborts(true)
	ln.SetTabCompletionStyle(liner.TabPrints)
	ln.SetWordCompleter(a.complete)
	lp := &linerPrompter{ln: ln, history: historyFile()}
	if h, err := os.Open(lp.history); err == nil {
		_, _ = ln.ReadHistory(h)
		h.Close()
	}
	return lp
}

// historyFile is where the prompt keeps its history between runs.
func historyFile() string {
	dir := os.Getenv("XDG_STATE_HOME")
	if dir == "" {
		home, err := os.UserHomeDir()
		if err != nil {
			return ""
		}
		dir = filepath.Join(home, ".local", "state")
	}
	return filepath.Join(dir, "offloadpmd", "history")
}

type plainPrompter struct {
	a  *app
	sc *bufio.Scanner
}

func (p *plainPrompter) prompt(s string) (string, error) {
	p.a.printf("%s", s)
	if !p.sc.Scan() {
		if err := p.sc.Err(); err != nil {
			return "", err
		}
		return "", io.EOF
	}
	return p.sc.Text(), nil
}

func (p *plainPrompter) close() {}

type linerPrompter struct {
	ln      *liner.State
	history string
}

func (p *linerPrompter) prompt(s string) (string, error) {
	line, err := p.ln.Prompt(s)
	if errors.Is(err, liner.ErrPromptAborted) {
		return "", io.EOF // Ctrl-C at the prompt: quit, as testpmd's SIGINT
	}
	if err == nil && line != "" {
		p.ln.AppendHistory(redactLine(line)) // no key in the history file
	}
	return line, err
}

func (p *linerPrompter) close() {
	if p.history != "" {
		if err := os.MkdirAll(filepath.Dir(p.history), 0o700); err == nil {
			if f, err := os.Create(p.history); err == nil {
				_, _ = p.ln.WriteHistory(f)
				f.Close()
			}
		}
	}
	if err := p.ln.Close(); err != nil {
		log.Debug().Err(err).Msg("restoring the terminal")
	}
}
