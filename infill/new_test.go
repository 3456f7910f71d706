package infill

import (
	"context"
	"testing"
)

func TestNewNilTokenizer(t *testing.T) {
	if _, err := New(&fakeBackend{info: ourInfo(4)}, nil).Infill(context.Background(), Request{Prefix: "a"}); err == nil {
		t.Errorf("nil tokenizer: no error")
	}
}
