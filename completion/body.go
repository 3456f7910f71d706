package completion

import (
	"context"
	"strings"
	"time"
)

// A small model often ends a completion right after opening a block: it
// writes `for _, name := range names {` or `def close(self):` and stops,
// because many of its training middles were one line. Where the suffix
// has no body for that block, the editor user wants the body too, as a
// completion of the whole statement. So Complete asks the model once more
// for the body (see bodyWindow), and closes the block itself where the
// language closes blocks with a bracket.

// bodyAfter reports whether text, a post-processed multi-line-mode
// completion in window w, ends by opening a block whose body the suffix
// lacks, and if so returns the indentation of the opening line. The
// opening line ends with '{', '(', '[' or ':' (Python's block headers;
// Go's case clauses). The suffix has the body when its next non-blank
// line is indented deeper than the opening line; then the user is
// rewriting a block's header and the body must not be written twice.
func bodyAfter(w Window, text string) (indent string, ok bool) {
	if strings.TrimSpace(w.LineSuffix) != "" {
		return "", false
	}
	text = strings.ReplaceAll(text, "\r\n", "\n")
	last := lineStartOf(w, text)
	t := strings.TrimRight(last, " \t")
	if t == "" || !strings.ContainsAny(t[len(t)-1:], "{([:") || strings.HasSuffix(t, "::") {
		return "", false
	}
	if code, _ := lineCode(last); strings.Contains(code, "//") || strings.HasPrefix(strings.TrimSpace(last), "#") {
		return "", false // the opener is inside a comment
	}
	// The line must leave open only the bracket it ends with (or none,
	// for a ':'): a line that leaves more open is not a block header.
	want := ""
	switch t[len(t)-1] {
	case '(':
		want = ")"
	case '[':
		want = "]"
	case '{':
		want = "}"
	}
	if c, ok := closers(last); !ok || c != want {
		return "", false
	}
	indent = indentOf(last)
	rest := w.Suffix[len(w.LineSuffix):]
	for _, l := range strings.Split(rest, "\n") {
		if strings.TrimSpace(l) == "" {
			continue
		}
		if width(indentOf(l)) > width(indent) {
			return "", false
		}
		break
	}
	return indent, true
}

// lineCode returns line without its string and rune literals, so that a
// bracket or comment marker inside one is not counted. open reports a
// quote left open at the end of the line.
func lineCode(line string) (code string, open bool) {
	var b strings.Builder
	var quote byte
	for i := 0; i < len(line); i++ {
		c := line[i]
		switch {
		case quote != 0:
			if c == '\\' && quote != '`' {
				i++
			} else if c == quote {
				quote = 0
			}
		case c == '"' || c == '\'' || c == '`':
			quote = c
		default:
			b.WriteByte(c)
		}
	}
	return b.String(), quote != 0
}

// lineStartOf returns the opening line of text in full: from the start of
// the cursor line, when text is one line, else text's last line.
func lineStartOf(w Window, text string) string {
	if i := strings.LastIndexByte(text, '\n'); i >= 0 {
		return text[i+1:]
	}
	return w.LinePrefix + text
}

// indentUnit returns one level of indentation under a line indented
// with indent in prefix's file: a tab where indent starts with one (or,
// at the left margin, where tab-indented lines are the majority, and in
// Go), else the smallest step by which a line's run of spaces exceeds the
// previous line's (4 when no line steps in).
func indentUnit(prefix, indent, lang string) string {
	switch {
	case strings.HasPrefix(indent, "\t"):
		return "\t"
	case indent == "" && lang == "go":
		return "\t"
	}
	st := indentStyleOf(prefix)
	if st.tabs >= st.spaces && st.tabs > 0 && indent == "" {
		return "\t"
	}
	return strings.Repeat(" ", st.step())
}

// bodyWindow returns the window and raw context for the body of the block
// text opens: the cursor on a new line after text, one level deeper than
// the opening line (in Go, at its level after a switch or select).
func bodyWindow(w, raw Window, text, indent, lang string) (Window, Window, string) {
	nl := "\n"
	if strings.Contains(w.Prefix, "\r\n") || strings.Contains(w.Suffix, "\r\n") {
		nl = "\r\n"
	}
	inner := indent + indentUnit(w.Prefix, indent, lang)
	if head := strings.TrimSpace(lineStartOf(w, text)); lang == "go" && (strings.HasPrefix(head, "switch") || strings.HasPrefix(head, "select")) {
		inner = indent // gofmt puts a switch's case clauses at its own indentation
	}
	lead := nl + inner
	bw := Window{Prefix: w.Prefix + text + lead, Suffix: w.Suffix, LinePrefix: inner,
		LineSuffix: w.LineSuffix, Syntax: w.Syntax, Function: w.Function}
	braw := Window{Prefix: raw.Prefix + text + lead, Suffix: raw.Suffix, LinePrefix: bw.LinePrefix, LineSuffix: raw.LineSuffix}
	return bw, braw, lead
}

// closers returns the closing brackets, innermost first, that the
// brackets text opens and does not close need (string literals, // line
// comments and lines starting with '#' skipped): "" when it closes what
// it opens. It reports false when text closes a bracket it did not open,
// or the wrong one, or leaves a string open at the end of a line (a
// Python docstring the model did not finish; Go's raw strings, which may
// span lines, are not followed).
func closers(text string) (string, bool) {
	var open []byte
	for _, line := range strings.Split(text, "\n") {
		if strings.HasPrefix(strings.TrimSpace(line), "#") {
			continue // a Python comment (or a C directive): "don't" opens no quote
		}
		code, quoted := lineCode(line)
		if quoted {
			return "", false
		}
		if i := strings.Index(code, "//"); i >= 0 {
			code = code[:i]
		}
		for i := 0; i < len(code); i++ {
			switch c := code[i]; c {
			case '(', '[', '{':
				open = append(open, c)
			case ')', ']', '}':
				if len(open) == 0 || match[open[len(open)-1]] != c {
					return "", false
				}
				open = open[:len(open)-1]
			}
		}
	}
	var b strings.Builder
	for i := len(open) - 1; i >= 0; i-- {
		b.WriteByte(match[open[i]])
	}
	return b.String(), true
}

var match = map[byte]byte{'(': ')', '[': ']', '{': '}'}

// body asks the model for the body of the block that text, the first
// fill's post-processed answer, opens at indentation indent, and returns
// text with the body and, for a bracket, the closing line; the fill's
// figures cover both fills. Without a body (the model adds nothing, or the
// time budget is spent) it returns text as it was. spent is the time the
// request has taken so far, counted against the time budget.
func (e *Engine) body(ctx context.Context, doc, lang string, snap snapshot, others []string, text, indent string, first FillResult, s Settings, spent time.Duration, alt bool) (string, FillResult, error) {
	if s.TimeBudget > 0 {
		if spent >= s.TimeBudget {
			return text, first, nil
		}
		s.TimeBudget -= spent
	}
	bw, braw, lead := bodyWindow(snap.w, snap.raw, text, indent, lang)
	fr := fillRequest(doc, bw, braw, others, s)
	fr.Alternative = alt
	fill, err := e.Filler.Fill(ctx, fr)
	both := first
	both.Forwards += fill.Forwards
	both.Tokens += fill.Tokens
	both.Prefill += fill.Prefill
	both.Denoise += fill.Denoise
	both.Cached = first.Cached && fill.Cached
	if err != nil {
		return text, both, err
	}
	both.Stop = fill.Stop
	// The body: its lines up to the last one at which its own brackets
	// balance (the model may stop inside an expression).
	lines := strings.SplitAfter(Postprocess(bw, fill.Text), "\n")
	for len(lines) > 0 {
		if c, ok := closers(strings.Join(lines, "")); ok && c == "" {
			break
		}
		lines = lines[:len(lines)-1]
	}
	b := strings.TrimRight(strings.Join(lines, ""), " \t\r\n")
	if strings.TrimSpace(b) == "" {
		return text, both, nil
	}
	out := text + lead + b
	if c, _ := closers(lineStartOf(snap.w, text)); c != "" {
		closing := indent + c
		if strings.TrimRight(nextSuffixLine(snap.w), " \t\r") != closing {
			nl := lead[:len(lead)-len(strings.TrimLeft(lead, "\r\n"))]
			out += nl + closing
		}
	}
	return out, both, nil
}

// nextSuffixLine returns the first non-blank line of the suffix after the
// cursor line, "" if none.
func nextSuffixLine(w Window) string {
	for _, l := range strings.Split(w.Suffix[len(w.LineSuffix):], "\n") {
		if strings.TrimSpace(l) != "" {
			return l
		}
	}
	return ""
}
