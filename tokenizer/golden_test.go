package tokenizer

import (
	"bufio"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
)

// The golden files hold the reference's (Hugging Face tokenizers, Rust)
// output for hard text and for a corpus of real source files; regenerate
// them with testdata/gen_golden.py.

type goldenHeader struct {
	Tokenizer string `json:"tokenizer"`
	File      string `json:"file"`
	SHA256    string `json:"sha256"`
	Reference string `json:"reference"`
}

type goldenCase struct {
	Name     string   `json:"name"`
	Text     *string  `json:"text"`
	Hex      string   `json:"hex"`
	IDs      *string  `json:"ids"`
	Starts   string   `json:"starts"`
	Plain    *string  `json:"plain"`
	Decoded  *string  `json:"decoded"`
	Prefixes []string `json:"prefixes"`

	File         string `json:"file"`
	SHA256       string `json:"sha256"`
	Bytes        int    `json:"bytes"`
	Tokens       int    `json:"tokens"`
	IDsSHA256    string `json:"ids_sha256"`
	Chunks       string `json:"chunks"`
	StartsSHA256 string `json:"starts_sha256"`
	DecodeOK     bool   `json:"decode_ok"`
	Sweep        []int  `json:"sweep"` // code point range of a sweepText case
}

func readGolden(t *testing.T, name string) (goldenHeader, []goldenCase) {
	t.Helper()
	f, err := os.Open(filepath.Join("testdata", "golden", name+".jsonl"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	sc.Buffer(nil, 1<<24)
	var h goldenHeader
	var cases []goldenCase
	for sc.Scan() {
		if h.Tokenizer == "" {
			if err := json.Unmarshal(sc.Bytes(), &h); err != nil {
				t.Fatalf("%s header: %v", name, err)
			}
			continue
		}
		var c goldenCase
		if err := json.Unmarshal(sc.Bytes(), &c); err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		cases = append(cases, c)
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	return h, cases
}

var goEnvCache sync.Map

func goEnv(t *testing.T, key string) string {
	if v, ok := goEnvCache.Load(key); ok {
		return v.(string)
	}
	out, err := exec.Command("go", "env", key).Output()
	if err != nil {
		t.Fatalf("go env %s: %v", key, err)
	}
	v := strings.TrimSpace(string(out))
	goEnvCache.Store(key, v)
	return v
}

func testDeps() string {
	if d := os.Getenv("UNMASK_TESTDEPS"); d != "" {
		return d
	}
	return filepath.Join("..", ".testdeps")
}

// resolve maps a golden file spec (root:path) to a path on this machine.
func resolve(t *testing.T, spec string) string {
	root, rel, _ := strings.Cut(spec, ":")
	switch root {
	case "testdata":
		return filepath.Join("testdata", rel)
	case "testdeps":
		return filepath.Join(testDeps(), rel)
	case "gomod":
		return filepath.Join(goEnv(t, "GOMODCACHE"), rel)
	case "goroot":
		return filepath.Join(goEnv(t, "GOROOT"), rel)
	}
	t.Fatalf("golden spec %q: unknown root", spec)
	return ""
}

// readDep reads a file the golden names, skipping the test when a
// downloaded dependency is missing (failing under UNMASK_REQUIRE_TESTDEPS=1).
func readDep(t *testing.T, spec string) []byte {
	t.Helper()
	b, err := os.ReadFile(resolve(t, spec))
	if err != nil {
		if os.IsNotExist(err) && !strings.HasPrefix(spec, "testdata:") && os.Getenv("UNMASK_REQUIRE_TESTDEPS") != "1" {
			t.Skipf("%s: %v (run scripts/setup/10-tokenizer.sh)", spec, err)
		}
		t.Fatalf("%s: %v (run scripts/setup/10-tokenizer.sh)", spec, err)
	}
	return b
}

func sha(b []byte) string {
	s := sha256.Sum256(b)
	return hex.EncodeToString(s[:])
}

func digest32[T int32 | int](v []T) string {
	b := make([]byte, 4*len(v))
	for i, x := range v {
		binary.LittleEndian.PutUint32(b[4*i:], uint32(x))
	}
	return sha(b)
}

func parseInts(s string) []int {
	var out []int
	for _, f := range strings.Fields(s) {
		n, err := strconv.Atoi(f)
		if err != nil {
			panic(err)
		}
		out = append(out, n)
	}
	return out
}

func ids32(v []int) []int32 {
	out := make([]int32, len(v))
	for i, x := range v {
		out[i] = int32(x)
	}
	return out
}

// firstDiff returns the first index where a and b differ, or -1.
func firstDiff[T comparable](a, b []T) int {
	for i := range min(len(a), len(b)) {
		if a[i] != b[i] {
			return i
		}
	}
	if len(a) != len(b) {
		return min(len(a), len(b))
	}
	return -1
}

func window[T any](v []T, i int) []T {
	return v[max(0, i-3):min(len(v), i+4)]
}

var loaded sync.Map // golden name → *Tokenizer

func goldenTokenizer(t *testing.T, name string) (*Tokenizer, []goldenCase) {
	t.Helper()
	h, cases := readGolden(t, name)
	data := readDep(t, h.File)
	if got := sha(data); got != h.SHA256 {
		t.Fatalf("%s: sha256 %s, golden made from %s: regenerate with testdata/gen_golden.py", h.File, got, h.SHA256)
	}
	if tk, ok := loaded.Load(name); ok {
		return tk.(*Tokenizer), cases
	}
	tk, err := Parse(data)
	if err != nil {
		t.Fatalf("Parse(%s): %v", h.File, err)
	}
	loaded.Store(name, tk)
	return tk, cases
}

var goldenNames = []string{"qwen3", "small", "small-gpt2", "small-llama3", "small-seq"}

func TestGoldenHardText(t *testing.T) {
	for _, name := range goldenNames {
		t.Run(name, func(t *testing.T) {
			tk, cases := goldenTokenizer(t, name)
			for _, c := range cases {
				if c.File != "" || c.Sweep != nil {
					continue
				}
				t.Run(c.Name, func(t *testing.T) { checkHard(t, tk, c) })
			}
		})
	}
}

func checkHard(t *testing.T, tk *Tokenizer, c goldenCase) {
	var s string
	if c.Text != nil {
		s = *c.Text
	} else {
		b, err := hex.DecodeString(c.Hex)
		if err != nil {
			t.Fatal(err)
		}
		s = string(b)
	}
	want := ids32(parseInts(*c.IDs))
	ids, starts := tk.EncodeOffsets(s)
	if i := firstDiff(ids, want); i >= 0 {
		t.Fatalf("Encode(%.60q): first difference at token %d: got %v, want %v", s, i, window(ids, i), window(want, i))
	}
	if got := tk.Encode(s); firstDiff(got, want) >= 0 {
		t.Errorf("Encode(%.60q) differs from EncodeOffsets", s)
	}
	wantStarts := parseInts(c.Starts)
	if i := firstDiff(starts, wantStarts); i >= 0 {
		t.Errorf("EncodeOffsets(%.60q) starts: first difference at token %d: got %v, want %v", s, i, window(starts, i), window(wantStarts, i))
	}
	wantPlain := want
	if c.Plain != nil {
		wantPlain = ids32(parseInts(*c.Plain))
	}
	if got := tk.EncodePlain(s); firstDiff(got, wantPlain) >= 0 {
		i := firstDiff(got, wantPlain)
		t.Errorf("EncodePlain(%.60q): first difference at token %d: got %v, want %v", s, i, window(got, i), window(wantPlain, i))
	}
	wantText := string(appendLossy(nil, []byte(s))) // invalid UTF-8 comes back repaired
	if c.Decoded != nil {
		wantText = *c.Decoded
	}
	if got := tk.Decode(ids); got != wantText {
		t.Errorf("Decode(Encode(%.60q)) = %.60q, want %.60q", s, got, wantText)
	}
	for k, p := range c.Prefixes {
		if got := tk.Decode(want[:k]); got != p {
			t.Errorf("Decode(ids[:%d]) = %q, want %q", k, got, p)
		}
	}
}

func TestGoldenFiles(t *testing.T) {
	for _, name := range goldenNames {
		t.Run(name, func(t *testing.T) {
			tk, cases := goldenTokenizer(t, name)
			var files, bytes, tokens int
			for _, c := range cases {
				if c.Sweep != nil {
					t.Run(c.Name, func(t *testing.T) {
						checkDigest(t, tk, c.Name, []byte(sweepText(rune(c.Sweep[0]), rune(c.Sweep[1]))), c)
					})
					continue
				}
				if c.File == "" {
					continue
				}
				t.Run(c.File, func(t *testing.T) {
					checkFile(t, tk, c)
					files++
					bytes += c.Bytes
					tokens += c.Tokens
				})
			}
			t.Logf("%s: parity on %d files, %d bytes, %d tokens", name, files, bytes, tokens)
		})
	}
}

func checkFile(t *testing.T, tk *Tokenizer, c goldenCase) {
	data := readDep(t, c.File)
	if got := sha(data); got != c.SHA256 {
		if strings.HasPrefix(c.File, "goroot:") {
			t.Skipf("%s: this Go toolchain's copy differs from the one the golden was made from (sha256 %s, want %s)", c.File, got, c.SHA256)
		}
		t.Fatalf("%s: sha256 %s, golden made from %s: the pinned input changed; rerun scripts/setup/10-tokenizer.sh or regenerate", c.File, got, c.SHA256)
	}
	checkDigest(t, tk, c.File, data, c)
}

// sweepText is every code point in [lo, hi) but surrogates, each between
// letters, digits and spaces, so the scanner's character classes are held
// to the reference's regex engine over all of Unicode (as gen_golden.py).
func sweepText(lo, hi rune) string {
	var b strings.Builder
	for r := lo; r < hi; r++ {
		if r >= 0xD800 && r < 0xE000 {
			continue
		}
		c := string(r)
		b.WriteString(c + "a" + c + "1 " + c + "\n")
	}
	return b.String()
}

// checkDigest compares the encoding of data with a golden digest record.
func checkDigest(t *testing.T, tk *Tokenizer, name string, data []byte, c goldenCase) {
	ids, starts := tk.EncodeOffsets(string(data))
	if len(ids) != c.Tokens || digest32(ids) != c.IDsSHA256 {
		chunks := strings.Fields(c.Chunks)
		for k := 0; k*1024 < len(ids); k++ {
			end := min(len(ids), (k+1)*1024)
			if k >= len(chunks) || digest32(ids[k*1024 : end])[:8] != chunks[k] {
				at := starts[k*1024]
				t.Fatalf("Encode(%s): %d tokens (want %d); ids differ in tokens %d..%d, text from byte %d: %.120q",
					name, len(ids), c.Tokens, k*1024, end, at, data[at:])
			}
		}
		t.Fatalf("Encode(%s): %d tokens, want %d", name, len(ids), c.Tokens)
	}
	if digest32(starts) != c.StartsSHA256 {
		t.Errorf("EncodeOffsets(%s): start offsets differ from the reference's", name)
	}
	if c.DecodeOK {
		if got := tk.Decode(ids); got != string(data) {
			i := firstDiff([]byte(got), data)
			t.Errorf("Decode(Encode(%s)) differs from the text at byte %d", name, i)
		}
	}
}
