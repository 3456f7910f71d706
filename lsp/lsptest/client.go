// Package lsptest is a raw LSP client for tests: it writes frames with the
// ids and bytes a test chooses (numeric and string ids, malformed JSON) and
// reads every frame the server sends, answering the server's own requests.
package lsptest

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"strconv"
	"strings"
	"sync"
)

// A Message is one frame from the server.
type Message struct {
	ID     json.RawMessage `json:"id,omitempty"`
	Method string          `json:"method,omitempty"`
	Params json.RawMessage `json:"params,omitempty"`
	Result json.RawMessage `json:"result,omitempty"`
	Error  *struct {
		Code    int    `json:"code"`
		Message string `json:"message"`
	} `json:"error,omitempty"`
}

// A Client talks to a server over r and w.
type Client struct {
	wmu sync.Mutex
	w   io.Writer

	mu      sync.Mutex
	waiting map[string]chan Message // by the id's JSON text
	notes   []Message               // notifications and server requests, in order
	errs    []Message               // responses with id null (parse errors)
	changed chan struct{}           // closed and replaced when notes or errs grow
	done    chan struct{}           // closed when the server's output ends
	nextID  int
}

// New starts reading the server's output r.
func New(r io.Reader, w io.Writer) *Client {
	c := &Client{w: w, waiting: map[string]chan Message{}, changed: make(chan struct{}), done: make(chan struct{})}
	go c.read(bufio.NewReader(r))
	return c
}

// Done is closed when the server's output ends.
func (c *Client) Done() <-chan struct{} { return c.done }

func (c *Client) read(r *bufio.Reader) {
	defer close(c.done)
	for {
		length := -1
		for {
			line, err := r.ReadString('\n')
			if err != nil {
				return
			}
			line = strings.TrimSpace(line)
			if line == "" {
				break
			}
			if v, ok := strings.CutPrefix(line, "Content-Length:"); ok {
				length, _ = strconv.Atoi(strings.TrimSpace(v))
			}
		}
		if length < 0 {
			return
		}
		body := make([]byte, length)
		if _, err := io.ReadFull(r, body); err != nil {
			return
		}
		var m Message
		if err := json.Unmarshal(body, &m); err != nil {
			return
		}
		c.dispatch(m)
	}
}

func (c *Client) dispatch(m Message) {
	c.mu.Lock()
	defer c.mu.Unlock()
	switch {
	case m.Method != "":
		if len(m.ID) > 0 {
			// A server request (workDoneProgress/create): answer it.
			go c.write(fmt.Sprintf(`{"jsonrpc":"2.0","id":%s,"result":null}`, m.ID))
		}
		c.notes = append(c.notes, m)
	case len(m.ID) == 0 || string(m.ID) == "null":
		c.errs = append(c.errs, m)
	default:
		if ch := c.waiting[string(m.ID)]; ch != nil {
			delete(c.waiting, string(m.ID))
			ch <- m
			return
		}
		c.errs = append(c.errs, m) // an answer nobody asked for
	}
	close(c.changed)
	c.changed = make(chan struct{})
}

// Write sends body as one frame, as is.
func (c *Client) Write(body string) error {
	return c.write(body)
}

func (c *Client) write(body string) error {
	c.wmu.Lock()
	defer c.wmu.Unlock()
	_, err := fmt.Fprintf(c.w, "Content-Length: %d\r\n\r\n%s", len(body), body)
	return err
}

// NextID returns a fresh numeric id.
func (c *Client) NextID() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.nextID++
	return c.nextID
}

// Send sends a request with the given id (a number or a string) and
// returns a channel that receives its answer.
func (c *Client) Send(id any, method string, params any) (<-chan Message, error) {
	idJSON, err := json.Marshal(id)
	if err != nil {
		return nil, err
	}
	p, err := json.Marshal(params)
	if err != nil {
		return nil, err
	}
	ch := make(chan Message, 1)
	c.mu.Lock()
	c.waiting[string(idJSON)] = ch
	c.mu.Unlock()
	body := fmt.Sprintf(`{"jsonrpc":"2.0","id":%s,"method":%q,"params":%s}`, idJSON, method, p)
	return ch, c.write(body)
}

// Call sends a request with a fresh numeric id and waits for its answer.
func (c *Client) Call(ctx context.Context, method string, params any) (Message, error) {
	ch, err := c.Send(c.NextID(), method, params)
	if err != nil {
		return Message{}, err
	}
	select {
	case m := <-ch:
		return m, nil
	case <-ctx.Done():
		return Message{}, fmt.Errorf("lsptest: %s: %w", method, ctx.Err())
	case <-c.done:
		return Message{}, fmt.Errorf("lsptest: %s: server output ended", method)
	}
}

// Notify sends a notification.
func (c *Client) Notify(method string, params any) error {
	p, err := json.Marshal(params)
	if err != nil {
		return err
	}
	return c.write(fmt.Sprintf(`{"jsonrpc":"2.0","method":%q,"params":%s}`, method, p))
}

// WaitNote waits for a notification (or server request) with method whose
// params contain substr, and returns it.
func (c *Client) WaitNote(ctx context.Context, method, substr string) (Message, error) {
	seen := 0
	for {
		c.mu.Lock()
		for ; seen < len(c.notes); seen++ {
			m := c.notes[seen]
			if m.Method == method && strings.Contains(string(m.Params), substr) {
				c.mu.Unlock()
				return m, nil
			}
		}
		ch := c.changed
		c.mu.Unlock()
		select {
		case <-ch:
		case <-ctx.Done():
			return Message{}, fmt.Errorf("lsptest: waiting for %s %q: %w", method, substr, ctx.Err())
		}
	}
}

// WaitError waits for the n-th (1-based) response with no id, a parse or
// invalid-request error.
func (c *Client) WaitError(ctx context.Context, n int) (Message, error) {
	for {
		c.mu.Lock()
		if len(c.errs) >= n {
			m := c.errs[n-1]
			c.mu.Unlock()
			return m, nil
		}
		ch := c.changed
		c.mu.Unlock()
		select {
		case <-ch:
		case <-ctx.Done():
			return Message{}, fmt.Errorf("lsptest: waiting for an error: %w", ctx.Err())
		}
	}
}

// Notes returns the notifications (and server requests) with method
// received so far.
func (c *Client) Notes(method string) []Message {
	c.mu.Lock()
	defer c.mu.Unlock()
	var out []Message
	for _, m := range c.notes {
		if m.Method == method {
			out = append(out, m)
		}
	}
	return out
}
