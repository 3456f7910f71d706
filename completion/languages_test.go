package completion

import (
	"context"
	"errors"
	"strings"
	"testing"
)

// A model that names its languages completes only those, unless the
// request says any language will do; one that names none completes all.
func TestLanguages(t *testing.T) {
	docs := map[string]*Document{
		"go":         NewDocument("file:///a.go", "go", 1, "package p\n\nfunc f() {\n\t\n}\n"),
		"javascript": NewDocument("file:///a.js", "javascript", 1, "function f() {\n  \n}\n"),
	}
	for _, d := range docs {
		t.Cleanup(d.Close)
	}
	pos := map[string]Position{"go": {Line: 3, Character: 1}, "javascript": {Line: 1, Character: 2}}
	for _, tt := range []struct {
		name      string
		languages []string
		lang      string
		any       bool
		want      bool // a fill runs
	}{
		{"a language the model knows", []string{"go", "python"}, "go", false, true},
		{"one it does not know", []string{"go", "python"}, "javascript", false, false},
		{"one it does not know, any language asked for", []string{"go", "python"}, "javascript", true, true},
		{"a model that names no languages", nil, "javascript", false, true},
	} {
		t.Run(tt.name, func(t *testing.T) {
			f := &reqFiller{}
			e := &Engine{Filler: f, Languages: tt.languages}
			s := DefaultSettings()
			s.AnyLanguage = tt.any
			res, err := e.Complete(context.Background(), Request{Doc: docs[tt.lang], Position: pos[tt.lang], Encoding: UTF16, Settings: s})
			if tt.want {
				if err != nil || res.Text != "x" || len(f.reqs) != 1 {
					t.Fatalf("Complete = %q, %v after %d fills; want x after 1", res.Text, err, len(f.reqs))
				}
				return
			}
			if !errors.Is(err, ErrLanguage) || !strings.Contains(err.Error(), `"javascript" (it knows go, python)`) {
				t.Errorf("Complete error = %v, want ErrLanguage naming the languages", err)
			}
			if res.Text != "" || len(f.reqs) != 0 {
				t.Errorf("Complete = %q after %d fills, want nothing and no fill", res.Text, len(f.reqs))
			}
		})
	}
}
