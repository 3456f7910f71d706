package corpus

import (
	"context"
	"fmt"
	"strings"

	sitter "github.com/smacker/go-tree-sitter"
	"github.com/smacker/go-tree-sitter/golang"
	"github.com/smacker/go-tree-sitter/python"
)

// A Span is a syntax node's byte range in a document, for sampling
// fill-in-the-middle middles along syntax boundaries. Line boundaries are not
// stored: they follow from the text.
type Span struct {
	Start, End int
	Kind       string // "statement", "block", "expression"
}

// MaxSpans bounds the spans kept per document (evenly thinned beyond it).
const MaxSpans = 256

// spanKind classifies a tree-sitter node type of Go or Python, or returns "".
func spanKind(typ string) string {
	switch {
	case typ == "block" || typ == "function_declaration" || typ == "method_declaration" ||
		typ == "function_definition" || typ == "class_definition" || typ == "func_literal" ||
		typ == "composite_literal" || typ == "literal_value":
		return "block"
	case strings.HasSuffix(typ, "_statement") || typ == "short_var_declaration" || typ == "var_declaration" ||
		typ == "const_declaration" || typ == "assignment" || typ == "augmented_assignment":
		return "statement"
	case strings.HasSuffix(typ, "_expression") || typ == "call" || typ == "argument_list" ||
		typ == "arguments" || typ == "selector_expression" || typ == "attribute":
		return "expression"
	}
	return ""
}

// A Spanner parses documents and lists their syntax spans. It is not safe
// for concurrent use.
type Spanner struct {
	parsers map[string]*sitter.Parser
}

// NewSpanner returns a Spanner for Go and Python.
func NewSpanner() *Spanner {
	s := &Spanner{parsers: map[string]*sitter.Parser{}}
	for lang, g := range map[string]*sitter.Language{"go": golang.GetLanguage(), "python": python.GetLanguage()} {
		p := sitter.NewParser()
		p.SetLanguage(g)
		s.parsers[lang] = p
	}
	return s
}

// Close frees the parsers.
func (s *Spanner) Close() {
	for _, p := range s.parsers {
		p.Close()
	}
}

// Spans returns the statement, block and expression spans of text, in
// document order, at most MaxSpans of them. Parse errors are not fatal:
// tree-sitter recovers, and the nodes it did build are still boundaries.
func (s *Spanner) Spans(lang, text string) ([]Span, error) {
	p := s.parsers[lang]
	if p == nil {
		return nil, fmt.Errorf("corpus: no parser for language %q", lang)
	}
	tree, err := p.ParseCtx(context.Background(), nil, []byte(text))
	if err != nil {
		return nil, fmt.Errorf("corpus: parse: %w", err)
	}
	defer tree.Close()
	var out []Span
	var walk func(n *sitter.Node)
	walk = func(n *sitter.Node) {
		if n.IsNamed() && !n.IsError() {
			if k := spanKind(n.Type()); k != "" && n.EndByte() > n.StartByte() {
				out = append(out, Span{int(n.StartByte()), int(n.EndByte()), k})
			}
		}
		for i := range int(n.ChildCount()) {
			walk(n.Child(i))
		}
	}
	walk(tree.RootNode())
	if len(out) > MaxSpans {
		thin := make([]Span, 0, MaxSpans)
		for i := range MaxSpans {
			thin = append(thin, out[i*len(out)/MaxSpans])
		}
		out = thin
	}
	return out, nil
}
