package cache

import (
	"context"
	"slices"
	"strings"
	"testing"
)

// FuzzSpans drives a Spans with puts, keystrokes and lookups in two
// documents and holds every answer to a plain reference model: the list of
// all completions put. Pinned completions must be served; anything else
// ristretto answers must be a completion that was put for the context,
// typed through by no more than ScanBack+Forward characters (a scan back
// from a forwarding entry).
func FuzzSpans(f *testing.F) {
	f.Add([]byte("\x00\x01\x02\x03\x01\x00\x03\x01\x01\x03"))
	f.Add([]byte("\x00\x10\x21\x33\x01\x01\x01\x03\x00\x05\x13\x02\x03\x04\x03"))
	f.Add([]byte("\x00\x07\x00\x08\x00\x09\x01\x00\x03\x01\x01\x03\x02\x03"))
	const alphabet = "ab\n"
	const scan, forward = 4, 3
	f.Fuzz(func(t *testing.T, data []byte) {
		s, err := NewSpans(Config{PrefixWindow: 4096, ScanBack: scan, Forward: forward, SpanBytes: 1 << 12})
		if err != nil {
			t.Fatal(err)
		}
		defer s.Close()
		var puts []put
		docs := []string{"a", "b"}
		prefix := map[string]string{"a": "x", "b": "x"}
		suffix := map[string]string{"a": "", "b": ""}
		for len(data) >= 2 {
			op, arg := data[0], data[1]
			data = data[2:]
			doc := docs[op>>4&1]
			switch op % 5 {
			case 0: // a completion arrives: 1..8 characters from arg's bits
				var b strings.Builder
				for i := range int(arg%8) + 1 {
					b.WriteByte(alphabet[(int(arg)>>i+i)%len(alphabet)])
				}
				puts = append(puts, put{doc, prefix[doc], suffix[doc], b.String()})
				s.Put(doc, prefix[doc], suffix[doc], b.String(), 1)
			case 1: // a keystroke
				prefix[doc] += string(alphabet[int(arg)%len(alphabet)])
			case 2: // a backspace
				if p := prefix[doc]; len(p) > 1 {
					prefix[doc] = p[:len(p)-1]
				}
			case 3:
				if arg%4 == 0 {
					s.Wait() // let ristretto apply what was put
				}
				got, ok := s.Lookup(doc, prefix[doc], suffix[doc])
				check(t, puts, doc, prefix[doc], suffix[doc], got, ok, scan, forward)
			case 4: // the text after the cursor changes
				suffix[doc] = string(alphabet[int(arg)%len(alphabet)])
			}
		}
	})
}

// typedThrough returns what remains of text at prefix p, when p is the put's
// prefix plus a start of text.
func typedThrough(putPrefix, text, p string) (rest string, typed int, ok bool) {
	if !strings.HasPrefix(p, putPrefix) {
		return "", 0, false
	}
	typedText := p[len(putPrefix):]
	if !strings.HasPrefix(text, typedText) || len(typedText) == len(text) {
		return "", 0, false
	}
	return text[len(typedText):], len(typedText), true
}

func check(t *testing.T, puts []put, doc, p, suffix, got string, ok bool, scan, forward int) {
	t.Helper()
	// The document's pins, newest first, must be served.
	var pins []int
	for i := len(puts) - 1; i >= 0 && len(pins) < pinsPerDoc; i-- {
		if puts[i].doc == doc {
			pins = append(pins, i)
		}
	}
	for _, i := range pins {
		pu := puts[i]
		if pu.suffix != suffix {
			continue
		}
		if rest, _, match := typedThrough(pu.prefix, pu.text, p); match {
			if !ok || got != rest {
				t.Fatalf("Lookup(%q, %q, %q) = %q, %v, want the pinned %q", doc, p, suffix, got, ok, rest)
			}
			return
		}
	}
	if !ok {
		return // ristretto may drop anything not pinned
	}
	for _, pu := range puts {
		if pu.suffix != suffix {
			continue
		}
		if rest, typed, match := typedThrough(pu.prefix, pu.text, p); match && rest == got && typed <= scan+forward {
			return
		}
	}
	t.Fatalf("Lookup(%q, %q, %q) = %q, which no put completion explains", doc, p, suffix, got)
}

// FuzzMark drives a Mark of three texts with keystrokes, backspaces and
// suffix changes and holds Rests to the plain reference model: the Mark's
// prefix plus characters typed that start one text and are not all of it.
func FuzzMark(f *testing.F) {
	f.Add([]byte("\x00\x00\x01\x02\x02\x01"), "ab", "aab", "b\na")
	f.Add([]byte("\x00\x02\x01\x01\x03\x00\x01\x02"), "\nab", "\nb", "")
	const alphabet = "ab\n"
	f.Fuzz(func(t *testing.T, data []byte, a, b, c string) {
		s := newTestSpans(t, Config{PrefixWindow: 4096})
		texts := []string{a, b, c}
		prefix, suffix := "x", ""
		m := s.Mark(prefix, suffix, texts...)
		p := prefix
		for len(data) >= 2 {
			op, arg := data[0], data[1]
			data = data[2:]
			switch op % 3 {
			case 0: // a keystroke
				p += string(alphabet[int(arg)%len(alphabet)])
			case 1: // a backspace
				if len(p) > 1 {
					p = p[:len(p)-1]
				}
			case 2: // the text after the cursor changes
				suffix = string(alphabet[int(arg)%len(alphabet)])
			}
			got, ok := s.Rests(m, p, suffix)
			want, matched := make([]string, len(texts)), false
			for i, text := range texts {
				rest, _, match := typedThrough(prefix, normalize(text), p)
				want[i], matched = rest, matched || match && suffix == ""
			}
			if !matched {
				want = nil
			}
			if ok != (want != nil) || !slices.Equal(got, want) {
				t.Fatalf("Rests(%q, %q) of %q = %q, %v, want %q", p, suffix, texts, got, ok, want)
			}
		}
	})
}

// FuzzSessions holds the session pool to a plain reference model: a list of
// idle sessions in release order, evicted oldest first while all sessions,
// checked out ones included, are over the cap.
func FuzzSessions(f *testing.F) {
	f.Add([]byte("\x00\x05\x10\x05\x01\x09\x00\x00\x11\x03\x02\x00"))
	f.Add([]byte("\x00\x0f\x01\x0f\x10\x0f\x11\x0f\x20\x0f\x21\x0f\x00\x00\x01\x07\x03\x00"))
	const capacity = 40
	f.Fuzz(func(t *testing.T, data []byte) {
		p, err := NewSessions[*fakeSession](capacity)
		if err != nil {
			t.Fatal(err)
		}
		ctx := context.Background()
		idle := []string{}                // docs, least recently released first
		held := map[string]refSession{}   // idle sessions by doc
		busy := map[string]*fakeSession{} // checked out (nil: being created)
		var all []*fakeSession
		next := 0
		for len(data) >= 2 {
			op, arg := data[0], data[1]
			data = data[2:]
			doc := string(rune('a' + op>>4%4))
			switch op % 4 {
			case 0: // Acquire
				if _, ok := busy[doc]; ok {
					continue // it would wait for a Release
				}
				s, ok, err := p.Acquire(ctx, doc)
				if err != nil {
					t.Fatal(err)
				}
				want, wantOK := held[doc]
				if ok != wantOK || (ok && s != want.s) {
					t.Fatalf("Acquire(%q) = %v, %v, want %v, %v", doc, s, ok, want.s, wantOK)
				}
				if ok {
					s.busy.Store(true)
				}
				busy[doc] = s
				delete(held, doc)
				idle = slices.DeleteFunc(idle, func(d string) bool { return d == doc })
			case 1: // Release, with the session grown to arg%32 bytes
				s, ok := busy[doc]
				if !ok {
					continue
				}
				if s == nil {
					s = newFakeSession(next, 0)
					next++
					all = append(all, s)
				}
				s.busy.Store(false)
				s.bytes.Store(int64(arg % 32))
				delete(busy, doc)
				p.Release(doc, s)
				held[doc] = refSession{s, s.Bytes()}
				idle = append(idle, doc)
				for total(held)+busyBytes(busy) > capacity && len(idle) > 0 {
					delete(held, idle[0])
					idle = idle[1:]
				}
			case 2: // Forget
				if _, ok := busy[doc]; ok {
					continue // tested elsewhere: closes at Release
				}
				p.Forget(doc)
				delete(held, doc)
				idle = slices.DeleteFunc(idle, func(d string) bool { return d == doc })
			case 3: // Abandon a checkout that made nothing
				if s, ok := busy[doc]; ok && s == nil {
					p.Abandon(doc)
					delete(busy, doc)
				}
			}
			// The cap counts sessions checked out too; only they may exceed it.
			st := p.Stats()
			if st.Bytes != total(held)+busyBytes(busy) || (len(held) > 0 && st.Bytes > capacity) {
				t.Fatalf("Stats().Bytes = %d, want %d idle + %d checked out, at most %d with idle ones", st.Bytes, total(held), busyBytes(busy), capacity)
			}
			for _, s := range all {
				if s.closed.Load() > 1 {
					t.Fatalf("session %d closed %d times", s.id, s.closed.Load())
				}
			}
		}
		for _, r := range held {
			if r.s.closed.Load() != 0 {
				t.Fatalf("session %d is held but closed", r.s.id)
			}
		}
	})
}

// put is a completion the reference model of FuzzSpans knows about.
type put struct{ doc, prefix, suffix, text string }

// refSession is an idle session in the reference model of FuzzSessions.
type refSession struct {
	s     *fakeSession
	bytes int64
}

func busyBytes(m map[string]*fakeSession) int64 {
	var n int64
	for _, s := range m {
		if s != nil {
			n += s.Bytes()
		}
	}
	return n
}

func total(m map[string]refSession) int64 {
	var n int64
	for _, r := range m {
		n += r.bytes
	}
	return n
}
