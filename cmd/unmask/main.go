// Command unmask is a language server that completes code with a
// discrete-diffusion language model, plus the tools around it.
//
// Each subcommand lives in its own file and registers itself in init, so
// that packages can be worked on without touching this file.
package main

import (
	"fmt"
	"io"
	"os"
	"sort"
)

// A command is one subcommand: `unmask NAME args...`.
type command struct {
	name    string
	summary string // one line, for `unmask help`
	// run executes the command with its arguments (the subcommand name
	// excluded). It returns an error instead of exiting, so tests can call it.
	run func(args []string, stdout, stderr io.Writer) error
}

var commands = map[string]command{}

func register(c command) {
	if _, dup := commands[c.name]; dup {
		panic("unmask: command registered twice: " + c.name) // programming error at init
	}
	commands[c.name] = c
}

func usage(w io.Writer) {
	fmt.Fprintln(w, "usage: unmask COMMAND [flags] [args]")
	fmt.Fprintln(w)
	names := make([]string, 0, len(commands))
	for n := range commands {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		fmt.Fprintf(w, "  %-10s %s\n", n, commands[n].summary)
	}
	fmt.Fprintln(w)
	fmt.Fprintln(w, "Run `unmask COMMAND -h` for a command's flags; `unmask --version` is `unmask version`.")
}

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

// run dispatches to a subcommand and returns the process exit code.
func run(args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 || args[0] == "help" || args[0] == "-h" || args[0] == "--help" {
		usage(stdout)
		return 0
	}
	if args[0] == "--version" || args[0] == "-version" {
		args = append([]string{"version"}, args[1:]...)
	}
	c, ok := commands[args[0]]
	if !ok {
		fmt.Fprintf(stderr, "unmask: unknown command %q\n\n", args[0])
		usage(stderr)
		return 2
	}
	if err := c.run(args[1:], stdout, stderr); err != nil {
		if err == errUsage {
			return 2
		}
		fmt.Fprintf(stderr, "unmask %s: %v\n", c.name, err)
		return 1
	}
	return 0
}

// errUsage reports that a command already printed a usage message.
var errUsage = fmt.Errorf("usage")
