package main

import "strconv"

// set verbose <n>: 0 off, 1 received, 2 sent, 3 and above both.
func cmdSetVerbose(a *app, args []string) error {
	n, err := strconv.Atoi(args[0])
	if err != nil {
		return errBadArgs
	}
	return a.setVerbose(n)
}

// trace <n>: follow the next n received packets through every stage.
func cmdTrace(a *app, args []string) error {
	n, err := strconv.Atoi(args[0])
	if err != nil {
		return errBadArgs
	}
	return a.startTrace(n)
}

// observe prints what the lcores recorded for verbose and trace; the
// prompt calls it every 100 ms, monitor between refreshes.
func (a *app) observe() { a.drainObserved() }
