package rpc

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strings"
	"sync"
	"time"
)

// ProcessStarter returns a Starter that runs an engine process — name with
// args, which must include `--listen stdio` — and speaks the protocol over
// its stdin and stdout. The process's stderr goes to the client's logger, and
// its last lines become part of the reason when it dies (a CUDA engine that
// finds no GPU says so there, or — gorgonia.org/cu's init prints to stdout —
// in the garbage the stream reader reports). Close of the client closes the
// process's stdin, which ends a well-behaved engine, and kills it after a
// grace period.
func ProcessStarter(name string, args []string, opts ...Option) Starter {
	return func(ctx context.Context) (*Client, error) {
		o := buildOptions(opts)
		cmd := exec.Command(name, args...)
		stdin, err := cmd.StdinPipe()
		if err != nil {
			return nil, fmt.Errorf("rpc: engine process: %w", err)
		}
		// Our own pipe, not StdoutPipe: Wait would close its read end and
		// drop what the process wrote last, which is often why it died.
		stdout, stdoutW, err := os.Pipe()
		if err != nil {
			return nil, fmt.Errorf("rpc: engine process: %w", err)
		}
		cmd.Stdout = stdoutW
		tail := &tailWriter{max: 8}
		stderr, err := cmd.StderrPipe()
		if err != nil {
			return nil, fmt.Errorf("rpc: engine process: %w", err)
		}
		err = cmd.Start()
		stdoutW.Close() // the child holds its copy; EOF comes when it exits
		if err != nil {
			stdout.Close()
			return nil, fmt.Errorf("rpc: start engine %s: %w: %w", name, ErrUnavailable, err)
		}
		p := &process{cmd: cmd, stdin: stdin, stdout: stdout, exited: make(chan struct{})}
		var logged sync.WaitGroup
		logged.Add(1)
		go func() {
			defer logged.Done()
			sc := bufio.NewScanner(stderr)
			for sc.Scan() {
				tail.add(sc.Text())
				o.log.Info("engine", "stderr", sc.Text())
			}
		}()
		go func() {
			logged.Wait() // Wait closes stderr: read it to the end first
			p.waitErr = cmd.Wait()
			close(p.exited)
		}()
		explain := func(cause error) error {
			select {
			case <-p.exited:
				return fmt.Errorf("%w; engine process exited: %v; stderr: %s", cause, p.waitErr, tail)
			case <-time.After(processGrace):
				return fmt.Errorf("%w; engine process still running; stderr: %s", cause, tail)
			}
		}
		c, err := newClient(ctx, p, explain, p.stop, opts...)
		if err != nil {
			// newClient failed, often on a write to a process that already
			// exited (a broken pipe) before anything read its stdout. Let it
			// exit, then read what it wrote: that is usually why it died.
			select {
			case <-p.exited:
				p.drainHead() // EOF is near: the process has closed its end
			case <-time.After(processGrace):
			}
			return nil, fmt.Errorf("%w (engine exit: %v; stdout: %q; stderr: %s)", err, p.waitErr, p.stdoutHead(), tail)
		}
		return c, nil
	}
}

// A process is an engine process's stdio as one io.ReadWriteCloser.
type process struct {
	cmd     *exec.Cmd
	stdin   io.WriteCloser
	stdout  io.ReadCloser
	exited  chan struct{}
	waitErr error // valid once exited is closed

	once sync.Once

	// head keeps the first bytes the process wrote: an engine that fails
	// before speaking the protocol may say why on stdout (gorgonia.org/cu's
	// init does).
	headMu sync.Mutex
	head   []byte
}

const headMax = 512

func (p *process) Read(b []byte) (int, error) {
	n, err := p.stdout.Read(b)
	if err != nil {
		p.stdout.Close() // EOF: the process closed its end
	}
	p.headMu.Lock()
	if room := headMax - len(p.head); room > 0 {
		p.head = append(p.head, b[:min(n, room)]...)
	}
	p.headMu.Unlock()
	return n, err
}

// drainHead reads the rest of stdout, up to headMax bytes, into head.
// Reads go through p.Read, so bytes another reader already took are in
// head too; a closed pipe just ends the loop.
func (p *process) drainHead() {
	var b [256]byte
	for len(p.stdoutHead()) < headMax {
		if _, err := p.Read(b[:]); err != nil {
			return
		}
	}
}

func (p *process) stdoutHead() string {
	p.headMu.Lock()
	defer p.headMu.Unlock()
	return string(p.head)
}

func (p *process) Write(b []byte) (int, error) { return p.stdin.Write(b) }

// Close closes the pipes; stop ends the process.
func (p *process) Close() error {
	p.stdin.Close()
	return nil
}

// processGrace is how long a closed engine gets to exit before it is killed.
const processGrace = 3 * time.Second

func (p *process) stop() error {
	p.once.Do(func() {
		p.stdin.Close()
		select {
		case <-p.exited:
		case <-time.After(processGrace):
			p.cmd.Process.Kill()
			<-p.exited
		}
	})
	var ee *exec.ExitError
	if p.waitErr != nil && !errors.As(p.waitErr, &ee) {
		return fmt.Errorf("rpc: engine process: %w", p.waitErr)
	}
	return nil
}

// A tailWriter keeps the last lines of a stream.
type tailWriter struct {
	mu    sync.Mutex
	max   int
	lines []string
}

func (t *tailWriter) add(line string) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.lines = append(t.lines, line)
	if len(t.lines) > t.max {
		t.lines = t.lines[len(t.lines)-t.max:]
	}
}

func (t *tailWriter) String() string {
	t.mu.Lock()
	defer t.mu.Unlock()
	if len(t.lines) == 0 {
		return "(empty)"
	}
	return strings.Join(t.lines, " | ")
}
