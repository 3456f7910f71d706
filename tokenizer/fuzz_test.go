package tokenizer

import (
	"slices"
	"strings"
	"testing"

	"golang.org/x/text/unicode/norm"
)

// FuzzRoundTrip checks, for any input: decoding what was encoded gives the
// text back (after repairing invalid UTF-8 and NFC, the small tokenizer's
// normalizer), offsets are increasing offsets into the input, and streamed
// prefixes only ever grow. Seeds: testdata/fuzz/FuzzRoundTrip.
func FuzzRoundTrip(f *testing.F) {
	tk := small(f)
	f.Add("")
	f.Add("func main() {}\n")
	f.Fuzz(func(t *testing.T, s string) {
		want := norm.NFC.String(string(appendLossy(nil, []byte(s))))
		if got := tk.Decode(tk.EncodePlain(s)); got != want {
			t.Fatalf("Decode(EncodePlain(%q)) = %q, want %q", s, got, want)
		}
		ids, starts := tk.EncodeOffsets(s)
		if enc := tk.Encode(s); !slices.Equal(enc, ids) {
			t.Fatalf("Encode(%q) = %v, EncodeOffsets = %v", s, enc, ids)
		}
		// Added tokens split the text before NFC, so compare in NFC.
		full := tk.Decode(ids)
		if got := norm.NFC.String(full); got != want {
			t.Fatalf("Decode(Encode(%q)) = %q, want %q (in NFC)", s, got, want)
		}
		checkStarts(t, s, ids, starts)
		// Every prefix is checked for short inputs; long ones (quadratic
		// work) get the last few.
		from := max(0, len(ids)-64)
		prev := tk.DecodePrefix(ids[:from])
		for k := from; k <= len(ids); k++ {
			p := tk.DecodePrefix(ids[:k])
			if !strings.HasPrefix(p, prev) || !strings.HasPrefix(full, p) {
				t.Fatalf("DecodePrefix(ids[:%d]) = %q after %q, full %q: streamed text must only grow", k, p, prev, full)
			}
			prev = p
		}
		if prev != full && !strings.HasSuffix(full, "\uFFFD") {
			t.Fatalf("DecodePrefix(all) = %q, Decode = %q", prev, full)
		}
	})
}

// FuzzParse feeds Parse malformed tokenizer.json files: it must return an
// error saying what is wrong, or a tokenizer that encodes without panicking
// and only returns ids below VocabSize. Seeds: testdata/fuzz/FuzzParse.
func FuzzParse(f *testing.F) {
	f.Fuzz(func(t *testing.T, data []byte) {
		tk, err := Parse(data)
		if err != nil {
			if !strings.HasPrefix(err.Error(), "tokenizer: ") || len(err.Error()) < len("tokenizer: ")+8 {
				t.Fatalf("Parse error %q: want a message that starts with \"tokenizer: \" and says what is wrong", err)
			}
			return
		}
		for _, s := range []string{"", "a b", "the <|mask|> TODO\n\n  x", "é😀\xff", "abab'S 123"} {
			for _, ids := range [][]int32{tk.Encode(s), tk.EncodePlain(s)} {
				for _, id := range ids {
					if id < 0 || int(id) >= tk.VocabSize() {
						t.Fatalf("Encode(%q) = %v: id %d not below VocabSize() = %d", s, ids, id, tk.VocabSize())
					}
				}
				tk.Decode(ids)
				tk.DecodePrefix(ids)
			}
			ids, starts := tk.EncodeOffsets(s)
			if len(ids) != len(starts) {
				t.Fatalf("EncodeOffsets(%q): %d ids, %d starts", s, len(ids), len(starts))
			}
		}
	})
}

// FuzzEncodeVariants runs every committed tokenizer variant (GPT-2 style
// with a prefix space and stripping added tokens, LLaMA-3 with normalized
// added tokens and ignore_merges, a two-stage pre-tokenizer) on any input:
// no panic, ids below VocabSize, increasing offsets into the input, and
// plain text decodes back (after the prefix space those variants add).
// Seeds: testdata/fuzz/FuzzRoundTrip's texts, copied.
func FuzzEncodeVariants(f *testing.F) {
	var tks []*Tokenizer
	var prefixed []bool
	for _, name := range []string{"small.json", "small-gpt2.json", "small-llama3.json", "small-seq.json"} {
		tks = append(tks, loadTestdata(f, name))
		prefixed = append(prefixed, name == "small-gpt2.json" || name == "small-seq.json")
	}
	f.Add("TODO: x <|mask|>  y\n\ncafe\u0301-tok 'S 123456")
	f.Fuzz(func(t *testing.T, s string) {
		repaired := string(appendLossy(nil, []byte(s)))
		for k, tk := range tks {
			ids, starts := tk.EncodeOffsets(s)
			checkStarts(t, s, ids, starts)
			for _, id := range ids {
				if id < 0 || int(id) >= tk.VocabSize() {
					t.Fatalf("variant %d: Encode(%q) has id %d, VocabSize() = %d", k, s, id, tk.VocabSize())
				}
			}
			got := norm.NFC.String(tk.Decode(tk.EncodePlain(s)))
			want := norm.NFC.String(repaired)
			if prefixed[k] {
				// A space is added before each piece that lacks one.
				got = strings.ReplaceAll(got, " ", "")
				want = strings.ReplaceAll(want, " ", "")
			}
			if got != want {
				t.Fatalf("variant %d: Decode(EncodePlain(%q)) = %q, want %q", k, s, got, want)
			}
		}
	})
}
