package lsp

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"testing"

	"go.lsp.dev/jsonrpc2"
)

type nopWriteCloser struct{ io.Writer }

// frame frames body with its Content-Length.
func frame(body string) string { return fmt.Sprintf("Content-Length: %d\r\n\r\n%s", len(body), body) }

func (nopWriteCloser) Close() error { return nil }

func TestStreamRead(t *testing.T) {
	tests := []struct {
		name    string
		in      string
		methods []string // messages read, in order
		answers []string // what the stream wrote back by itself
		err     bool     // the stream ends with a framing error (not EOF)
	}{
		{"one call", frame(`{"jsonrpc":"2.0","id":1,"method":"a/b"}`), []string{"a/b"}, nil, false},
		{"bad json is skipped", "Content-Length: 5\r\n\r\n{bad}" + frame(`{"jsonrpc":"2.0","method":"x/y"}`),
			[]string{"x/y"}, []string{`"code":-32700`}, false},
		{"not a request", "Content-Length: 17\r\n\r\n" + `{"jsonrpc":"2.0"}`, nil, []string{`"code":-32600`}, false},
		{"header case and extras", "content-length: 32\r\nContent-Type: x\r\n\r\n" + `{"jsonrpc":"2.0","method":"x/y"}`, []string{"x/y"}, nil, false},
		{"no length", "Content-Type: x\r\n\r\n{}", nil, nil, true},
		{"bad length", "Content-Length: -3\r\n\r\n", nil, nil, true},
		{"short body", "Content-Length: 99\r\n\r\n{}", nil, nil, true},
	}
	for _, tt := range tests {
		var out bytes.Buffer
		s := newStream(strings.NewReader(tt.in), nopWriteCloser{&out})
		var got []string
		var err error
		for {
			var msg jsonrpc2.Message
			msg, _, err = s.Read(context.Background())
			if err != nil {
				break
			}
			got = append(got, msg.(jsonrpc2.Request).Method())
		}
		if strings.Join(got, ",") != strings.Join(tt.methods, ",") {
			t.Errorf("%s: read %q, want %q", tt.name, got, tt.methods)
		}
		if gotErr := !errors.Is(err, io.EOF); gotErr != tt.err || (tt.err && !errors.Is(err, errFraming)) {
			t.Errorf("%s: stream ended with %v, want framing error %v", tt.name, err, tt.err)
		}
		for _, a := range tt.answers {
			if !strings.Contains(out.String(), a) || !strings.Contains(out.String(), `"id":null`) {
				t.Errorf("%s: wrote %q, want an answer with id null containing %s", tt.name, out.String(), a)
			}
		}
	}
}

// FuzzStream: any input ends the stream with an error or yields messages;
// it never panics or loops.
func FuzzStream(f *testing.F) {
	f.Add([]byte(frame(`{"jsonrpc":"2.0","id":1,"method":"a/b"}`)))
	f.Add([]byte("Content-Length: 5\r\n\r\n{bad}"))
	f.Add([]byte("Content-Length: 17\r\n\r\n" + `{"jsonrpc":"2.0"}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		s := newStream(bytes.NewReader(data), nopWriteCloser{io.Discard})
		for i := 0; i <= len(data); i++ {
			if _, _, err := s.Read(context.Background()); err != nil {
				return
			}
		}
		t.Fatalf("stream read more messages than it had bytes")
	})
}
