package lsp

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
	"sync"

	"github.com/segmentio/encoding/json"
	"go.lsp.dev/jsonrpc2"
)

// maxMessage bounds one message's Content-Length, so a corrupt header can't
// make the server allocate without limit.
const maxMessage = 1 << 30

// A stream is jsonrpc2's Content-Length framing with one difference: a
// message whose body is not valid JSON-RPC is answered with a parse error
// (id null) and skipped, where jsonrpc2.NewStream's Read fails and the
// connection closes. Broken framing (a bad header) still ends the stream:
// there is no way to find the next message.
type stream struct {
	in *bufio.Reader

	mu  sync.Mutex // serializes writes of replies, requests and parse errors
	out io.WriteCloser
}

func newStream(r io.Reader, w io.WriteCloser) *stream {
	return &stream{in: bufio.NewReaderSize(r, 64<<10), out: w}
}

// errFraming reports a malformed header; the stream can't continue.
var errFraming = errors.New("lsp: malformed message header")

func (s *stream) Read(ctx context.Context) (jsonrpc2.Message, int64, error) {
	for {
		if err := ctx.Err(); err != nil {
			return nil, 0, err
		}
		data, n, err := s.readFrame()
		if err != nil {
			return nil, n, err
		}
		msg, err := jsonrpc2.DecodeMessage(data)
		if err == nil {
			return msg, n, nil
		}
		code := jsonrpc2.ParseError
		if errors.Is(err, jsonrpc2.ErrInvalidRequest) {
			code = jsonrpc2.InvalidRequest
		}
		if werr := s.writeError(code, err.Error()); werr != nil {
			return nil, n, werr
		}
	}
}

func (s *stream) readFrame() ([]byte, int64, error) {
	var total int64
	length, headers := -1, 0
	for {
		line, err := s.in.ReadString('\n')
		total += int64(len(line))
		if err != nil {
			if err == io.EOF && total == 0 {
				return nil, total, io.EOF
			}
			return nil, total, fmt.Errorf("%w: %v", errFraming, err)
		}
		line = strings.TrimSpace(line)
		if line == "" {
			if length < 0 {
				if headers == 0 {
					continue // stray blank line between messages
				}
				return nil, total, fmt.Errorf("%w: no Content-Length", errFraming)
			}
			break
		}
		headers++
		name, value, ok := strings.Cut(line, ":")
		if !ok {
			return nil, total, fmt.Errorf("%w: %q", errFraming, line)
		}
		if strings.EqualFold(strings.TrimSpace(name), "Content-Length") {
			n, err := strconv.Atoi(strings.TrimSpace(value))
			if err != nil || n < 0 || n > maxMessage {
				return nil, total, fmt.Errorf("%w: Content-Length %q", errFraming, value)
			}
			length = n
		}
	}
	data := make([]byte, length)
	if _, err := io.ReadFull(s.in, data); err != nil {
		return nil, total, fmt.Errorf("%w: body: %v", errFraming, err)
	}
	return data, total + int64(length), nil
}

func (s *stream) Write(ctx context.Context, msg jsonrpc2.Message) (int64, error) {
	data, err := json.Marshal(msg)
	if err != nil {
		return 0, fmt.Errorf("lsp: marshaling message: %w", err)
	}
	return s.writeFrame(data)
}

func (s *stream) writeError(code jsonrpc2.Code, message string) error {
	data, err := json.Marshal(struct {
		JSONRPC string          `json:"jsonrpc"`
		ID      *int            `json:"id"`
		Error   *jsonrpc2.Error `json:"error"`
	}{"2.0", nil, jsonrpc2.NewError(code, message)})
	if err != nil {
		return err
	}
	_, err = s.writeFrame(data)
	return err
}

func (s *stream) writeFrame(data []byte) (int64, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	n, err := fmt.Fprintf(s.out, "Content-Length: %d\r\n\r\n", len(data))
	if err != nil {
		return int64(n), fmt.Errorf("lsp: writing message: %w", err)
	}
	m, err := s.out.Write(data)
	if err != nil {
		return int64(n + m), fmt.Errorf("lsp: writing message: %w", err)
	}
	return int64(n + m), nil
}

func (s *stream) Close() error { return s.out.Close() }
