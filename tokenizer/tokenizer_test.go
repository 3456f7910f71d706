package tokenizer

import (
	"encoding/json"
	"errors"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"unicode/utf8"

	"golang.org/x/text/unicode/norm"
)

// small loads the committed small tokenizer (trained with the reference's
// BpeTrainer, Qwen2 pre-tokenizer, NFC), which needs no download.
func small(t testing.TB) *Tokenizer {
	t.Helper()
	return loadTestdata(t, "small.json")
}

func loadTestdata(t testing.TB, name string) *Tokenizer {
	t.Helper()
	tk, err := Load(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	return tk
}

func TestScanner(t *testing.T) {
	tests := []struct {
		pattern string
		in      string
		want    []string
	}{
		{patternQwen2, "hello world", []string{"hello", " world"}},
		{patternQwen2, "  foo", []string{" ", " foo"}},
		{patternQwen2, "x\n\n  y", []string{"x", "\n\n", " ", " y"}},
		{patternQwen2, "a123b", []string{"a", "1", "2", "3", "b"}},
		{patternQwen2, "foo();\n\tx", []string{"foo", "();\n", "\tx"}},
		{patternQwen2, "it's IT'S 'LL", []string{"it", "'s", " IT", "'S", " '", "LL"}},
		{patternQwen2, "x   ", []string{"x", "   "}},
		{patternQwen2, " \r\n\r\n  }", []string{" \r\n\r\n", " ", " }"}},
		{patternQwen2, "(a", []string{"(a"}},
		{patternLlama3, "a12345b", []string{"a", "123", "45", "b"}},
		{patternLlama3, "x=1_000", []string{"x", "=", "1", "_", "000"}},
		{patternGPT2, " hello  world", []string{" hello", " ", " world"}},
		{patternGPT2, "x  =  1", []string{"x", " ", " =", " ", " 1"}},
		{patternGPT2, "IT'S it's", []string{"IT", "'", "S", " it", "'s"}},
		{patternGPT2, "\tfoo\n\n", []string{"\t", "foo", "\n\n"}},
		{patternGPT2, "a12345b", []string{"a", "12345", "b"}},
		{patternGPT2, "日本語 テキスト", []string{"日本語", " テキスト"}},
	}
	for _, tt := range tests {
		sc := knownPatterns[tt.pattern]
		var got []string
		for i := 0; i < len(tt.in); {
			j := sc.next(tt.in, i)
			got = append(got, tt.in[i:j])
			i = j
		}
		if !slices.Equal(got, tt.want) {
			t.Errorf("split(%.20q, %q) = %q, want %q", tt.pattern, tt.in, got, tt.want)
		}
	}
}

func TestRoundTrip(t *testing.T) {
	tk := small(t)
	for _, s := range []string{
		"", " ", "\n", "package main\n\nfunc main() {}\n", "\r\n\t  \r\n", "x := \"😀\" // 你好",
		"e\u0301 café", "<|fim_prefix|>a<|fim_suffix|>b<|fim_middle|>", "<|mask|><|mask|>",
		strings.Repeat("ab", 500), "\u00a0\u3000\u2028", "'s's'S", "\x00\x01\x7f",
	} {
		want := norm.NFC.String(s)
		if got := tk.Decode(tk.Encode(s)); got != want {
			t.Errorf("Decode(Encode(%q)) = %q, want %q", s, got, want)
		}
		if got := tk.Decode(tk.EncodePlain(s)); got != want {
			t.Errorf("Decode(EncodePlain(%q)) = %q, want %q", s, got, want)
		}
	}
}

// TestInvalidUTF8 states what happens to invalid UTF-8: it is repaired to
// U+FFFD (one per maximal ill-formed subpart, as Python's errors="replace"
// and Rust's from_utf8_lossy do) before encoding, so it encodes like the
// repaired text, and its offsets point at the bad bytes.
func TestInvalidUTF8(t *testing.T) {
	tk := small(t)
	tests := []struct{ in, repaired string }{
		{"a\xffb", "a\uFFFDb"},
		{"\xe2\x82", "\uFFFD"},                 // truncated 3-byte sequence: one replacement
		{"\xe2\x82x", "\uFFFDx"},               //
		{"\xed\xa0\x80", "\uFFFD\uFFFD\uFFFD"}, // a surrogate: three
		{"\xc0\xaf", "\uFFFD\uFFFD"},           // overlong
		{"\xf0\x9f\x98", "\uFFFD"},             // truncated emoji
		{"ok\x80", "ok\uFFFD"},
	}
	for _, tt := range tests {
		if got, want := tk.Encode(tt.in), tk.Encode(tt.repaired); !slices.Equal(got, want) {
			t.Errorf("Encode(%q) = %v, want Encode(%q) = %v", tt.in, got, tt.repaired, want)
		}
		if got := tk.Decode(tk.Encode(tt.in)); got != tt.repaired {
			t.Errorf("Decode(Encode(%q)) = %q, want %q", tt.in, got, tt.repaired)
		}
		ids, starts := tk.EncodeOffsets(tt.in)
		checkStarts(t, tt.in, ids, starts)
	}
	_, starts := tk.EncodeOffsets("a\xffb")
	if want := []int{0, 1, 2}; len(starts) == 3 && !slices.Equal(starts, want) {
		t.Errorf("EncodeOffsets(%q) starts = %v, want %v", "a\xffb", starts, want)
	}
}

func checkStarts(t *testing.T, s string, ids []int32, starts []int) {
	t.Helper()
	if len(starts) != len(ids) {
		t.Fatalf("EncodeOffsets(%q): %d ids, %d starts", s, len(ids), len(starts))
	}
	for i, st := range starts {
		if st < 0 || st > len(s) || (i > 0 && st < starts[i-1]) || (len(s) > 0 && st == len(s)) {
			t.Fatalf("EncodeOffsets(%q) starts = %v: not increasing offsets into s", s, starts)
		}
	}
	if len(starts) > 0 && starts[0] != 0 {
		t.Errorf("EncodeOffsets(%q) starts[0] = %d, want 0", s, starts[0])
	}
}

func TestEncodeOffsets(t *testing.T) {
	tk := small(t)
	// For ASCII text with no added tokens each token's bytes are exactly
	// the text between its start and the next.
	for _, s := range []string{"func main() {\n\treturn 42\n}\n", "x  =  1   \n\n\n", "a <|mask|> b"} {
		ids, starts := tk.EncodeOffsets(s)
		checkStarts(t, s, ids, starts)
		for i, id := range ids {
			end := len(s)
			if i+1 < len(ids) {
				end = starts[i+1]
			}
			if got, want := tk.Decode([]int32{id}), s[starts[i]:end]; got != want {
				t.Errorf("EncodeOffsets(%q): token %d decodes to %q, text at its offsets is %q", s, i, got, want)
			}
		}
	}
	// A token that begins inside a character starts where the character does.
	s := "x😀"
	ids, starts := tk.EncodeOffsets(s)
	checkStarts(t, s, ids, starts)
	for i := range starts {
		if !utf8.RuneStart(s[starts[i]]) {
			t.Errorf("EncodeOffsets(%q) starts = %v: offset inside a character", s, starts)
		}
	}
	// NFC can also expand: U+0F43 becomes U+0F42 U+0FB7, both from byte 1.
	// (Regression: this once panicked.)
	s = "\n\u0f43a"
	ids, starts = tk.EncodeOffsets(s)
	checkStarts(t, s, ids, starts)
	if got, want := tk.Decode(ids), norm.NFC.String(s); got != want {
		t.Errorf("Decode(Encode(%q)) = %q, want %q", s, got, want)
	}
	for i, st := range starts[1:] {
		if st != 1 && !(i == len(starts)-2 && st == 4) {
			t.Errorf("EncodeOffsets(%q) starts = %v, want 0, then 1 for U+0F42 U+0FB7's tokens, 4 for a", s, starts)
			break
		}
	}
	// NFC: "e\u0301" becomes one character that maps to where "e" was.
	s = "x e\u0301"
	ids, starts = tk.EncodeOffsets(s)
	checkStarts(t, s, ids, starts)
	if last := starts[len(starts)-1]; last > 2 {
		t.Errorf("EncodeOffsets(%q) starts = %v: the composed é should start at or before byte 2", s, starts)
	}
}

func byteToken(t *testing.T, tk *Tokenizer, b byte) int32 {
	t.Helper()
	id, ok := tk.TokenID(string(byteRune[b]))
	if !ok {
		t.Fatalf("no token for byte %#x", b)
	}
	return id
}

func TestDecodePrefix(t *testing.T) {
	tk := small(t)
	emoji := []int32{} // 😀 = F0 9F 98 80, one byte per token
	for _, b := range []byte("😀") {
		emoji = append(emoji, byteToken(t, tk, b))
	}
	a, ff, cont := byteToken(t, tk, 'a'), byteToken(t, tk, 0xFF), byteToken(t, tk, 0x80)
	tests := []struct {
		ids          []int32
		prefix, full string
	}{
		{nil, "", ""},
		{[]int32{a}, "a", "a"},
		{append([]int32{a}, emoji[:1]...), "a", "a\uFFFD"},
		{append([]int32{a}, emoji[:2]...), "a", "a\uFFFD"},
		{append([]int32{a}, emoji[:3]...), "a", "a\uFFFD"},
		{append([]int32{a}, emoji...), "a😀", "a😀"},
		{[]int32{ff, a}, "\uFFFDa", "\uFFFDa"},                       // invalid, not incomplete: shown
		{[]int32{a, cont}, "a\uFFFD", "a\uFFFD"},                     // a lone continuation byte can't be completed
		{[]int32{emoji[0], a, emoji[0]}, "\uFFFDa", "\uFFFDa\uFFFD"}, // only the tail is held back
		{[]int32{-1, 1 << 30, a}, "a", "a"},                          // unknown ids are skipped
	}
	for _, tt := range tests {
		if got := tk.DecodePrefix(tt.ids); got != tt.prefix {
			t.Errorf("DecodePrefix(%v) = %q, want %q", tt.ids, got, tt.prefix)
		}
		if got := tk.Decode(tt.ids); got != tt.full {
			t.Errorf("Decode(%v) = %q, want %q", tt.ids, got, tt.full)
		}
	}
}

func TestTokenID(t *testing.T) {
	tk := small(t)
	for _, tok := range []string{"<|endoftext|>", "<|mask|>", "<|fim_prefix|>", "<|fim_middle|>", "<|fim_suffix|>", "<|pad|>", "Ġ", "a"} {
		id, ok := tk.TokenID(tok)
		if !ok || id < 0 || int(id) >= tk.VocabSize() {
			t.Errorf("TokenID(%q) = %d, %v; want an id below VocabSize() = %d", tok, id, ok, tk.VocabSize())
			continue
		}
		if got := tk.Decode([]int32{id}); got != strings.ReplaceAll(tok, "Ġ", " ") {
			t.Errorf("Decode([TokenID(%q)]) = %q", tok, got)
		}
	}
	if id, ok := tk.TokenID("<|no_such_token|>"); ok {
		t.Errorf("TokenID(%q) = %d, true; want false", "<|no_such_token|>", id)
	}
	// The special tokens are matched in Encode and are text in EncodePlain.
	fim, _ := tk.TokenID("<|fim_prefix|>")
	s := "x<|fim_prefix|>y"
	if got := tk.Encode(s); !slices.Contains(got, fim) {
		t.Errorf("Encode(%q) = %v, want it to contain %d", s, got, fim)
	}
	if got := tk.EncodePlain(s); slices.Contains(got, fim) || tk.Decode(got) != s {
		t.Errorf("EncodePlain(%q) = %v: want the special token spelled out as text", s, got)
	}
}

// TestMergeReference holds the fast merges (array for short words, heap
// for long ones, the cache) to the plain reference merge.
func TestMergeReference(t *testing.T) {
	tokenizers := map[string]*Tokenizer{"small": small(t)}
	if data, err := os.ReadFile(filepath.Join(testDeps(), "tokenizer-qwen3", "tokenizer.json")); err == nil {
		tk, err := Parse(data)
		if err != nil {
			t.Fatal(err)
		}
		tokenizers["qwen3"] = tk
	}
	rng := rand.New(rand.NewPCG(1, 2))
	alphabet := []string{"a", "b", "e", "n", "t", " ", "\n", "=", "_", "é", "😀", "0", "1", "(", ")", "ab", "the", "  "}
	var words []string
	for _, n := range []int{1, 2, 3, 5, 8, 13, 30, 47, 48, 49, 64, 100, 300, 1000} {
		for range 20 {
			var b strings.Builder
			for b.Len() < n {
				b.WriteString(alphabet[rng.IntN(len(alphabet))])
			}
			words = append(words, b.String())
		}
	}
	words = append(words, strings.Repeat("=", 200), strings.Repeat("  ", 100), strings.Repeat("a", 1000))
	for name, tk := range tokenizers {
		ranks := map[[2]string]int{}
		idTok := make([]string, tk.VocabSize())
		for tok, id := range tk.bpe.vocab {
			idTok[id] = tok
		}
		tk.bpe.table.each(func(pair, v uint64) {
			l, r := idTok[int32(pair>>32)], idTok[int32(uint32(pair))]
			ranks[[2]string{l, r}] = int(v >> 32)
		})
		sc := new(scratch)
		for _, w := range words {
			want := referenceMerge(ranks, tk.bpe.vocab, w)
			for pass := range 2 { // the second pass reads the cache
				got, offs := tk.bpe.encodeWord(w, nil, []int32{}, sc)
				if !slices.Equal(got, want) {
					t.Fatalf("%s: encodeWord(%q) pass %d = %v, reference %v", name, w, pass, got, want)
				}
				if len(offs) != len(got) {
					t.Fatalf("%s: encodeWord(%q): %d offsets for %d ids", name, w, len(offs), len(got))
				}
			}
		}
	}
}

func TestParseErrors(t *testing.T) {
	base := `{"model":{"type":"BPE","vocab":{"a":0,"b":1,"ab":2},"merges":["a b"]},"pre_tokenizer":null,"decoder":{"type":"ByteLevel"},"added_tokens":[]}`
	if _, err := Parse([]byte(base)); err != nil {
		t.Fatalf("Parse(base) = %v", err)
	}
	tests := []struct {
		name, json, want string
		unsupported      bool
	}{
		{"not json", `{"model":`, "not valid JSON", false},
		{"no model", `{"added_tokens":[]}`, "has no model", false},
		{"wordpiece", `{"model":{"type":"WordPiece","vocab":{}}}`, `"WordPiece"`, true},
		{"unigram", `{"model":{"type":"Unigram","vocab":[]}}`, `"Unigram"`, true},
		{"no vocab", `{"model":{"type":"BPE","merges":[]}}`, "no vocab", false},
		{"merge missing token", `{"model":{"type":"BPE","vocab":{"a":0},"merges":["a b"]}}`, `token "b" is not in the vocab`, false},
		{"merge result missing", `{"model":{"type":"BPE","vocab":{"a":0,"b":1},"merges":[["a","b"]]}}`, `merged token "ab"`, false},
		{"merge three parts", `{"model":{"type":"BPE","vocab":{"a":0},"merges":["a b c"]}}`, "merges[0]", false},
		{"merge not pair", `{"model":{"type":"BPE","vocab":{"a":0},"merges":[["a"]]}}`, "merges[0]", false},
		{"merges not list", `{"model":{"type":"BPE","vocab":{"a":0},"merges":7}}`, "merges is not a list", false},
		{"negative id", `{"model":{"type":"BPE","vocab":{"a":-1}}}`, "out of range", false},
		{"sparse ids", `{"model":{"type":"BPE","vocab":{"a":2000000000}}}`, "out of range", false},
		{"dropout", `{"model":{"type":"BPE","vocab":{},"dropout":0.1}}`, "dropout", true},
		{"byte fallback", `{"model":{"type":"BPE","vocab":{},"byte_fallback":true}}`, "byte_fallback", true},
		{"unk missing", `{"model":{"type":"BPE","vocab":{},"unk_token":"<unk>"}}`, `unk_token "<unk>"`, false},
		{"regex", `{"model":{"type":"BPE","vocab":{}},"pre_tokenizer":{"type":"Split","pattern":{"Regex":"\\w+"},"behavior":"Isolated"}}`, "unsupported pre-tokenizer regex", true},
		{"split behavior", `{"model":{"type":"BPE","vocab":{}},"pre_tokenizer":{"type":"Split","pattern":{"String":" "},"behavior":"Removed"}}`, `"Removed"`, true},
		{"pre-tokenizer type", `{"model":{"type":"BPE","vocab":{}},"pre_tokenizer":{"type":"Metaspace"}}`, `"Metaspace"`, true},
		{"pre-tokenizer in sequence", `{"model":{"type":"BPE","vocab":{}},"pre_tokenizer":{"type":"Sequence","pretokenizers":[{"type":"ByteLevel"},{"type":"Digits"}]}}`, "pretokenizers[1]", true},
		{"normalizer", `{"model":{"type":"BPE","vocab":{}},"normalizer":{"type":"Lowercase"}}`, `"Lowercase"`, true},
		{"decoder", `{"model":{"type":"BPE","vocab":{}},"decoder":{"type":"WordPiece"}}`, `"WordPiece"`, true},
		{"no type", `{"model":{"type":"BPE","vocab":{}},"decoder":{}}`, "decoder has no type", false},
		{"added no content", `{"model":{"type":"BPE","vocab":{}},"added_tokens":[{"id":0}]}`, "added_tokens[0] has no content", false},
		{"invalid utf-8", "{\"model\":{\"type\":\"BPE\",\"vocab\":{\"\xff\":0}}}", "not valid UTF-8 at byte 33", false},
		{"trailing data", `{"model":{"type":"BPE","vocab":{}}} x`, "data after the top-level object", false},
		{"added bad type", `{"model":{"type":"BPE","vocab":{}},"added_tokens":[{"id":"x","content":"a"}]}`, "added_tokens", false},
	}
	for _, tt := range tests {
		_, err := Parse([]byte(tt.json))
		if err == nil {
			t.Errorf("Parse(%s) = nil error, want one containing %q", tt.name, tt.want)
			continue
		}
		if !strings.Contains(err.Error(), tt.want) || !strings.HasPrefix(err.Error(), "tokenizer: ") {
			t.Errorf("Parse(%s) error = %q, want it to start with \"tokenizer: \" and contain %q", tt.name, err, tt.want)
		}
		if got := errors.Is(err, ErrUnsupported); got != tt.unsupported {
			t.Errorf("Parse(%s) error %q: errors.Is(ErrUnsupported) = %v, want %v", tt.name, err, got, tt.unsupported)
		}
	}
}

// TestLoadsTrainerOutput checks that files written by the reference's
// trainer load, whatever merge spelling and pre-tokenizer variant they use.
func TestLoadsTrainerOutput(t *testing.T) {
	for _, name := range []string{"small.json", "small-gpt2.json", "small-llama3.json", "small-seq.json"} {
		tk := loadTestdata(t, name)
		if tk.VocabSize() < 256 {
			t.Errorf("Load(%s): VocabSize() = %d, want at least the byte alphabet", name, tk.VocabSize())
		}
	}
	if _, err := Load(filepath.Join("testdata", "no-such.json")); err == nil || !strings.Contains(err.Error(), "no-such.json") {
		t.Errorf("Load(missing) error = %v, want one naming the file", err)
	}
}

// TestScanString holds jscan's strings to encoding/json's.
func TestScanString(t *testing.T) {
	for _, lit := range []string{
		`""`, `"abc"`, `"a\u00e9"`, `"\ud83d\ude00"`, `"\ud83d"`, `"\ud83dx"`, `"\ud83d\u0041"`,
		`"\ude00\ud83d"`, `"\/\b\f\n\r\t\\\""`, `"Ġ\u0120"`,
	} {
		var want string
		if err := json.Unmarshal([]byte(lit), &want); err != nil {
			t.Fatalf("json.Unmarshal(%s): %v", lit, err)
		}
		s := &jscan{b: []byte(lit)}
		got, err := s.str()
		if err != nil || got != want || s.i != len(lit) {
			t.Errorf("jscan.str(%s) = %q, %v (at %d); want %q", lit, got, err, s.i, want)
		}
	}
	for _, bad := range []string{`"abc`, `"\x"`, `"\u12"`, "\"a\nb\"", `abc`} {
		s := &jscan{b: []byte(bad)}
		if got, err := s.str(); err == nil {
			t.Errorf("jscan.str(%q) = %q, nil; want an error", bad, got)
		}
	}
}

// TestScanModel holds jscan's vocabulary and merges to encoding/json's on
// the committed files (both merge spellings) and Qwen3's when present.
func TestScanModel(t *testing.T) {
	files := []string{"testdata/small.json", "testdata/small-gpt2.json"}
	if p := filepath.Join(testDeps(), "tokenizer-qwen3", "tokenizer.json"); fileExists(p) {
		files = append(files, p)
	}
	for _, path := range files {
		data, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		var ref struct {
			Model struct {
				Vocab  map[string]int32  `json:"vocab"`
				Merges []json.RawMessage `json:"merges"`
			} `json:"model"`
		}
		if err := json.Unmarshal(data, &ref); err != nil {
			t.Fatal(err)
		}
		tk, err := Parse(data)
		if err != nil {
			t.Fatal(err)
		}
		if len(tk.bpe.vocab) != len(ref.Model.Vocab) {
			t.Fatalf("%s: %d vocabulary entries, encoding/json reads %d", path, len(tk.bpe.vocab), len(ref.Model.Vocab))
		}
		for tok, id := range ref.Model.Vocab {
			if got, ok := tk.bpe.vocab[tok]; !ok || got != id {
				t.Fatalf("%s: vocab[%q] = %d, %v; encoding/json reads %d", path, tok, got, ok, id)
			}
		}
		if n := tk.bpe.table.n; n > len(ref.Model.Merges) || n < len(ref.Model.Merges)*99/100 {
			t.Errorf("%s: %d distinct merges from %d entries", path, n, len(ref.Model.Merges))
		}
		for rank, raw := range ref.Model.Merges[:min(len(ref.Model.Merges), 2000)] {
			var pair [2]string
			var line string
			if json.Unmarshal(raw, &line) == nil {
				pair[0], pair[1], _ = strings.Cut(line, " ")
			} else if err := json.Unmarshal(raw, &pair); err != nil {
				t.Fatal(err)
			}
			l, r := tk.bpe.vocab[pair[0]], tk.bpe.vocab[pair[1]]
			if got, _ := tk.bpe.pair(l, r); got != uint32(rank) {
				t.Errorf("%s: rank of merge %q = %d, want %d", path, pair, got, rank)
			}
		}
	}
}

func fileExists(p string) bool {
	_, err := os.Stat(p)
	return err == nil
}

// TestConcurrentEncode encodes from several goroutines at once through the
// shared word cache (run with -race).
func TestConcurrentEncode(t *testing.T) {
	tk := small(t)
	texts := []string{"func main() {\n\treturn 42\n}\n", "x := []int{1, 2, 3} // 😀", "<|mask|> é\u0301 'll"}
	want := make([][]int32, len(texts))
	for i, s := range texts {
		want[i] = tk.Encode(s)
	}
	tk.bpe.cache.clear()
	done := make(chan error)
	for g := range 4 {
		go func() {
			for k := range 200 {
				i := (g + k) % len(texts)
				if got := tk.Encode(texts[i]); !slices.Equal(got, want[i]) {
					done <- errors.New("Encode(" + texts[i] + ") differs under concurrency")
					return
				}
			}
			done <- nil
		}()
	}
	for range 4 {
		if err := <-done; err != nil {
			t.Error(err)
		}
	}
}

// TestPairTable holds the merge table to a plain map: random pairs,
// repeats (the last value wins) and the zero key.
func TestPairTable(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	ref := map[uint64]uint64{}
	var keys []uint64
	for range 5000 {
		k := uint64(rng.IntN(300))<<32 | uint64(rng.IntN(300))
		if rng.IntN(50) == 0 {
			k = 0
		}
		keys = append(keys, k)
	}
	tab := newPairTable(len(keys))
	for i, k := range keys {
		v := uint64(i)<<32 | uint64(rng.Uint32())
		ref[k] = v
		tab.put(k, v)
	}
	if tab.n != len(ref) {
		t.Errorf("pairTable has %d entries, map %d", tab.n, len(ref))
	}
	for k := uint64(0); k < 300<<32; k += 1<<32 + 7 {
		for _, probe := range []uint64{k, k | 1, k | 299} {
			got, ok := tab.get(probe)
			want, wantOK := ref[probe]
			if got != want || ok != wantOK {
				t.Fatalf("pairTable.get(%#x) = %#x, %v; map has %#x, %v", probe, got, ok, want, wantOK)
			}
		}
	}
	seen := 0
	tab.each(func(k, v uint64) {
		if ref[k] != v {
			t.Fatalf("pairTable.each: %#x = %#x, map has %#x", k, v, ref[k])
		}
		seen++
	})
	if seen != len(ref) {
		t.Errorf("pairTable.each visited %d entries, want %d", seen, len(ref))
	}
}
