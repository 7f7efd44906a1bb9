package main

import (
	"errors"
	"strconv"
)

// set verbose <n>
func cmdSetVerbose(a *app, args []string) error {
	n, _ := strconv.Atoi(args[0])
	_ = n
	return errors.New("set verbose: being wired")
}

// trace <n>
func cmdTrace(a *app, args []string) error {
	return errors.New("trace: being wired")
}

// observe prints what the lcores recorded for verbose and trace.
func (a *app) observe() {}
