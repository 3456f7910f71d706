package completion

import (
	"sort"
	"strings"

	sitter "github.com/smacker/go-tree-sitter"
)

// bytesPerToken converts a token budget to bytes until a document's own
// ratio is measured (see Document.limitLocked). Code averages about 3.5 to
// 4 bytes per BPE token; 3 errs on the short side, and the decoder trims
// whatever still overflows (infill.Settings.MaxContext).
const bytesPerToken = 3

// A TokenCounter counts the tokens of a text: a Filler that has one lets
// windows be sized in the model's real tokens.
type TokenCounter interface {
	CountTokens(s string) int
}

// A ContextLimiter reports the most context tokens a Filler's model can
// take beside a middle of maxTokens: the window is never cut larger, since
// the decoder would trim it again at every keystroke (from the left, which
// loses the session's KV cache).
type ContextLimiter interface {
	ContextLimit(maxTokens int) int
}

// limitLocked converts a token budget to bytes with the document's measured
// bytes per token. The ratio is measured once, on the first window (an
// encode of a few kilobytes costs more than the rest of a keystroke), with a
// 10% margin; a stable ratio keeps the window's edges, and so the
// session's KV cache, in place while the user types.
func (d *Document) limitLocked(off, budget int, count TokenCounter) int {
	if d.ratio == 0 {
		d.ratio = bytesPerToken
		if count != nil {
			w := d.windowLocked(off, budget*bytesPerToken)
			if n := count.CountTokens(w.Prefix) + count.CountTokens(w.Suffix); n > 0 {
				d.ratio = 0.9 * float64(len(w.Prefix)+len(w.Suffix)) / float64(n)
			}
		}
	}
	return int(float64(budget) * d.ratio)
}

// A Window is the model input cut around a cursor, plus what
// post-processing needs to know about the cursor's surroundings.
type Window struct {
	Prefix, Suffix string // model input: text before and after the cursor, cut to the budget
	LinePrefix     string // the cursor line before the cursor
	LineSuffix     string // the cursor line after the cursor
	Syntax         bool   // cut on a syntax tree (false: line windows)
	Function       string // type of the enclosing function node kept whole, "" if none
}

// Syntax node types, per grammar, that the window keeps whole or uses as a
// header. One table for all languages: the names rarely collide in meaning.
var (
	functionTypes = set("function_declaration", "method_declaration", "func_literal",
		"function_definition", "decorated_definition", "function_item",
		"method_definition", "arrow_function", "function_expression", "function",
		"generator_function_declaration", "constructor_declaration", "lambda_expression")
	typeTypes = set("type_declaration", "class_definition", "class_declaration", "class",
		"interface_declaration", "impl_item", "trait_item", "class_specifier",
		"struct_specifier", "enum_declaration", "namespace_definition")
	headerTypes = set("package_clause", "import_declaration", "import_statement",
		"import_from_statement", "future_import_statement", "use_declaration",
		"extern_crate_declaration", "preproc_include", "using_declaration",
		"package_declaration", "comment")
)

func set(names ...string) map[string]bool {
	m := make(map[string]bool, len(names))
	for _, n := range names {
		m[n] = true
	}
	return m
}

// windowLocked cuts the text around off to fit limit bytes. The document
// lock must be held: it reads the tree.
func (d *Document) windowLocked(off, limit int) Window {
	text := d.text
	m := d.mapperLocked()
	w := Window{}
	ls := off
	for ls > 0 && text[ls-1] != '\n' && text[ls-1] != '\r' {
		ls--
	}
	le := off
	for le < len(text) && text[le] != '\n' && text[le] != '\r' {
		le++
	}
	w.LinePrefix, w.LineSuffix = text[ls:off], text[off:le]

	limit = max(limit, 1)
	var tree *sitter.Tree
	if d.syn != nil {
		tree = d.syn.parse(text)
	}
	if tree == nil {
		pStart, sEnd := lineWindow(text, off, limit)
		w.Prefix, w.Suffix = text[pStart:off], text[off:sEnd]
		return w
	}
	w.Syntax = true
	root := tree.RootNode()
	pt := sitter.Point(m.Point(off))
	node := root.NamedDescendantForPointRange(pt, pt)

	// The enclosing function (or, outside functions, type) kept whole: the
	// outermost one that fits the budget.
	keepStart, keepEnd := off, off
	var typeNode *sitter.Node
	for n := node; n != nil && !n.Equal(root); n = n.Parent() {
		t := n.Type()
		if typeTypes[t] && typeNode == nil {
			typeNode = n
		}
		if !functionTypes[t] && !typeTypes[t] {
			continue
		}
		s, e := int(n.StartByte()), int(n.EndByte())
		if e-s > limit*9/10 {
			break
		}
		keepStart, keepEnd = min(keepStart, s), max(keepEnd, e)
		if functionTypes[t] {
			w.Function = t
		}
		if typeNode != nil && int(typeNode.StartByte()) >= keepStart {
			typeNode = nil // the type is inside what we keep
		}
	}
	keepStart = lineStart(text, keepStart)
	keepEnd = lineEnd(text, keepEnd)
	left := limit - (keepEnd - keepStart)
	if left < 0 {
		// The cursor's line alone overflows: plain windows.
		pStart, sEnd := lineWindow(text, off, limit)
		w.Prefix, w.Suffix = text[pStart:off], text[off:sEnd]
		return w
	}

	// The package/import header, when it lies before what we keep.
	var header string
	hStart, hEnd := -1, -1
	for i := 0; i < int(root.NamedChildCount()); i++ {
		c := root.NamedChild(i)
		if !headerTypes[c.Type()] {
			break
		}
		if hStart < 0 {
			hStart = int(c.StartByte())
		}
		hEnd = lineEnd(text, int(c.EndByte()))
	}
	if hStart >= 0 && hEnd < keepStart && hEnd-hStart+1 <= left/2 {
		header = text[hStart:hEnd] + "\n\n"
		left -= len(header)
	} else {
		hEnd = -1
	}

	// The signature (first line) of the enclosing type.
	var sig string
	if typeNode != nil {
		s := lineStart(text, int(typeNode.StartByte()))
		e := lineEnd(text, s)
		if e < keepStart && s > hEnd && e-s+1 <= left/2 {
			sig = text[s:e] + "\n"
			left -= len(sig)
		}
	}

	// The rest of the budget: 3/4 before, 1/4 after, cut at the start (end)
	// of a top-level node where one falls in range, else at a line. The
	// shares are fixed, not what one side leaves to the other: the suffix
	// comes first in the model's input, so it must not move while the user
	// types, or the session's KV cache is lost at every keystroke. Both
	// edges move in steps (windowSteps), so that neither follows each
	// keystroke or new line: a prefix that starts a line later is a new
	// prefix for the KV cache, all of it computed again.
	pStart := cutBefore(text, root, keepStart, prefixEdge(keepStart-left*3/4, limit), max(hEnd, 0))
	sEnd := cutAfter(text, root, keepEnd, keepEnd+suffixShare(left, limit))
	if sig != "" && pStart <= lineStart(text, int(typeNode.StartByte())) {
		sig = "" // the window reaches the type's signature anyway
	}
	if header != "" && pStart <= hEnd+1 {
		header, pStart = "", hStart
		if hStart > 0 {
			pStart = 0
		}
	}
	w.Prefix = header + sig + text[pStart:off]
	w.Suffix = text[off:sEnd]
	return w
}

// windowSteps sets how far the window's edges move at once, as fractions
// of its byte limit: the prefix's start moves in steps of limit/8 of the
// document's offsets, the suffix's share of the budget in steps of
// limit/32. The prefix is then up to limit/8 bytes shorter than its
// share, never longer; typing moves its start once every limit/8 bytes
// (a few lines; 94 bytes for the embedded model's window) instead of at
// every line, and each move costs a prefill of the whole prefix.
const windowSteps = 8

// prefixEdge rounds want, where the prefix would start, up to the next
// multiple of the prefix's step (see windowSteps).
func prefixEdge(want, limit int) int {
	step := max(limit/windowSteps, 1)
	if want <= 0 {
		return want
	}
	return (want + step - 1) / step * step
}

// suffixShare is the suffix's share of left bytes, a quarter, rounded down
// to a multiple of its step (see windowSteps): the share changes only when
// the kept part grows by 4 steps, not by a quarter of each typed byte.
func suffixShare(left, limit int) int {
	step := max(limit/(4*windowSteps), 1)
	return left / 4 / step * step
}

// cutBefore returns a start offset in [want, keep] (and >= floor): the
// start of the first top-level node there, else a line start.
func cutBefore(text string, root *sitter.Node, keep, want, floor int) int {
	if want <= floor {
		want = floor
	}
	if want >= keep {
		return keep
	}
	// The first top-level node starting at or after want (they are in
	// order: a binary search spares a cgo call per node of a long file).
	n := int(root.NamedChildCount())
	if i := sort.Search(n, func(i int) bool { return int(root.NamedChild(i).StartByte()) >= want }); i < n {
		if s := int(root.NamedChild(i).StartByte()); s <= keep {
			return lineStart(text, s)
		}
	}
	s := lineStart(text, want)
	if s < want {
		s = nextLine(text, want)
	}
	return min(s, keep)
}

// cutAfter returns an end offset in [keep, want]: the end of the last
// top-level node there, else a line end.
func cutAfter(text string, root *sitter.Node, keep, want int) int {
	if want > len(text) {
		want = len(text)
	}
	if want <= keep {
		return keep
	}
	// The last top-level node ending (at its line's end) by want.
	end := func(i int) int { return lineEnd(text, int(root.NamedChild(i).EndByte())) }
	if i := sort.Search(int(root.NamedChildCount()), func(i int) bool { return end(i) > want }) - 1; i >= 0 {
		if e := end(i); e >= keep {
			return e
		}
	}
	e := lineStart(text, want)
	return max(e, keep)
}

// lineWindow returns whole-line prefix and suffix windows around off
// within limit bytes, 3/4 before and 1/4 after.
func lineWindow(text string, off, limit int) (start, end int) {
	start = max(prefixEdge(off-limit*3/4, limit), 0) // in steps: see windowSteps
	if start > 0 {
		start = min(nextLine(text, start), off)
	}
	end = min(off+limit/4, len(text)) // a fixed share: see windowLocked
	if end < len(text) {
		end = max(lineStart(text, end), off)
	}
	return start, end
}

func lineStart(text string, off int) int {
	off = min(off, len(text))
	for off > 0 && text[off-1] != '\n' {
		off--
	}
	return off
}

func lineEnd(text string, off int) int {
	off = min(off, len(text))
	if i := strings.IndexByte(text[off:], '\n'); i >= 0 {
		return off + i
	}
	return len(text)
}

func nextLine(text string, off int) int {
	if i := strings.IndexByte(text[off:], '\n'); i >= 0 {
		return off + i + 1
	}
	return len(text)
}
