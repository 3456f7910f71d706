package engine

import (
	"errors"
	"testing"
)

func TestChecks(t *testing.T) {
	preds := NewPredictions(3, 4)
	small := NewPredictions(1, 2)
	tests := []struct {
		name string
		err  error
		want error // nil: no error
	}{
		{"tokens in range", CheckTokens([]int32{0, 9}, 10), nil},
		{"token at the vocabulary's size", CheckTokens([]int32{0, 10}, 10), ErrToken},
		{"negative token", CheckTokens([]int32{-1}, 10), ErrToken},
		{"prefill that fits", CheckPrefill([]int32{1, 2}, 2, 10), nil},
		{"prefill past the context", CheckPrefill([]int32{1, 2, 3}, 2, 10), ErrContextFull},
		{"prefill with a bad token", CheckPrefill([]int32{1, 20}, 8, 10), ErrToken},
		{"denoise every position", CheckDenoise([]int32{1, 2, 3}, 0, preds, 4, 4, 10), nil},
		{"denoise a sub-range", CheckDenoise([]int32{1, 2, 3}, 1, preds[:2], 4, 4, 10), nil},
		{"denoise no position", CheckDenoise([]int32{1}, 1, nil, 4, 4, 10), nil},
		{"empty block", CheckDenoise(nil, 0, nil, 4, 4, 10), ErrBlockSize},
		{"block too long", CheckDenoise(make([]int32, 5), 0, nil, 4, 4, 10), ErrBlockSize},
		{"positions past the block", CheckDenoise([]int32{1, 2}, 1, preds[:2], 4, 4, 10), ErrBlockSize},
		{"negative from", CheckDenoise([]int32{1, 2}, -1, preds[:1], 4, 4, 10), ErrBlockSize},
		{"bad block token", CheckDenoise([]int32{1, 99}, 0, preds[:2], 4, 4, 10), ErrToken},
		{"truncate to the start", CheckTruncate(0, 3), nil},
		{"truncate to all", CheckTruncate(3, 3), nil},
		{"truncate past the context", CheckTruncate(4, 3), ErrContextFull},
		{"truncate below zero", CheckTruncate(-1, 3), ErrContextFull},
	}
	for _, tt := range tests {
		switch {
		case tt.want == nil && tt.err != nil:
			t.Errorf("%s: %v, want no error", tt.name, tt.err)
		case tt.want != nil && !errors.Is(tt.err, tt.want):
			t.Errorf("%s: %v, want an error wrapping %v", tt.name, tt.err, tt.want)
		}
	}
	// Too little room for the session's candidates is an error of its own.
	if err := CheckDenoise([]int32{1}, 0, small, 4, 4, 10); err == nil {
		t.Error("out with room for 2 candidates, TopK 4: no error")
	}
}

func TestCommonPrefix(t *testing.T) {
	tests := []struct {
		a, b []int32
		want int
	}{
		{nil, nil, 0},
		{[]int32{1, 2, 3}, []int32{1, 2, 3}, 3},
		{[]int32{1, 2, 3}, []int32{1, 2}, 2},
		{[]int32{1, 2}, []int32{1, 2, 3}, 2},
		{[]int32{1, 5, 3}, []int32{1, 2, 3}, 1},
		{[]int32{4}, []int32{1}, 0},
	}
	for _, tt := range tests {
		if got := CommonPrefix(tt.a, tt.b); got != tt.want {
			t.Errorf("CommonPrefix(%v, %v) = %d, want %d", tt.a, tt.b, got, tt.want)
		}
	}
}
