package rpc

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
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
		stdout, err := cmd.StdoutPipe()
		if err != nil {
			return nil, fmt.Errorf("rpc: engine process: %w", err)
		}
		tail := &tailWriter{max: 8}
		stderr, err := cmd.StderrPipe()
		if err != nil {
			return nil, fmt.Errorf("rpc: engine process: %w", err)
		}
		if err := cmd.Start(); err != nil {
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
		c, err := NewClient(ctx, p, opts...)
		if err != nil {
			p.stop()
			return nil, fmt.Errorf("%w (engine exit: %v; stderr: %s)", err, p.waitErr, tail)
		}
		c.onClose = p.stop
		// When the process dies, say how in the client's reason.
		go func() {
			select {
			case <-p.exited:
				c.markDead(fmt.Errorf("%w: engine process exited: %v; stderr: %s", ErrUnavailable, p.waitErr, tail))
				c.conn.Close()
			case <-c.Done():
			}
		}()
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
}

func (p *process) Read(b []byte) (int, error)  { return p.stdout.Read(b) }
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
