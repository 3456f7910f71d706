package completion

import (
	"context"
	"net/url"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"
)

func TestFilePath(t *testing.T) {
	tests := []struct {
		uri  string
		path string
		ok   bool
	}{
		{"file:///home/u/p/main.go", "/home/u/p/main.go", true},
		{"file:///home/u/my%20project/a.go", "/home/u/my project/a.go", true},
		{"file:///home/u/my project/a.go", "/home/u/my project/a.go", true}, // unescaped, as `unmask complete` makes them
		{"file://localhost/tmp/a.go", "/tmp/a.go", true},
		{"file://server/share/a.go", "", false},
		{"untitled:Untitled-1", "", false},
		{"file://", "", false},
	}
	for _, tt := range tests {
		path, ok := filePath(tt.uri)
		if ok != tt.ok || path != filepath.FromSlash(tt.path) && tt.ok {
			t.Errorf("filePath(%q) = %q, %v; want %q, %v", tt.uri, path, ok, tt.path, tt.ok)
		}
	}
}

// neighborDir writes files into a new folder, each modified a second
// after the one before (so later files are newer), and returns the
// folder.
func neighborFolder(t *testing.T, files ...[2]string) string {
	t.Helper()
	dir := t.TempDir()
	base := time.Now().Add(-time.Hour)
	for i, f := range files {
		p := filepath.Join(dir, f[0])
		if err := os.WriteFile(p, []byte(f[1]), 0o644); err != nil {
			t.Fatal(err)
		}
		mod := base.Add(time.Duration(i) * time.Second)
		if err := os.Chtimes(p, mod, mod); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

func fileURI(path string) string {
	return (&url.URL{Scheme: "file", Path: filepath.ToSlash(path)}).String()
}

func TestNeighborsTexts(t *testing.T) {
	dir := neighborFolder(t,
		[2]string{"old.go", "package p // old"},
		[2]string{"doc.go", "package p // the document"},
		[2]string{"binary.go", "package p\x00"},
		[2]string{"latin1.go", "package p // caf\xe9"},
		[2]string{"big.go", "package p\n" + strings.Repeat("// padding\n", neighborMaxBytes/11+1)},
		[2]string{"script.py", "x = 1"},
		[2]string{"open.go", "package p // open: its disk text must not be read"},
		[2]string{"new.go", "package p // new"},
	)
	if err := os.Mkdir(filepath.Join(dir, "sub.go"), 0o755); err != nil {
		t.Fatal(err)
	}
	var n Neighbors
	doc := fileURI(filepath.Join(dir, "doc.go"))
	open := map[string]bool{filepath.Join(dir, "open.go"): true}

	got := n.Texts(doc, open, 8)
	want := []string{"package p // new", "package p // old"} // newest first; not the document, binaries, other languages, open files, folders or big files
	if !slices.Equal(got, want) {
		t.Errorf("Texts = %q, want %q", got, want)
	}
	if got := n.Texts(doc, open, 1); !slices.Equal(got, want[:1]) {
		t.Errorf("Texts(limit 1) = %q, want %q", got, want[:1])
	}
	if got := n.Texts("untitled:1", nil, 8); got != nil {
		t.Errorf("Texts(untitled) = %q, want none", got)
	}
	py := n.Texts(fileURI(filepath.Join(dir, "main.py")), nil, 8)
	if !slices.Equal(py, []string{"x = 1"}) {
		t.Errorf("Texts(main.py) = %q, want the other Python file", py)
	}

	// A long file gives its last lookupOpenBytes, as an open document does.
	long := "package p\n" + strings.Repeat("var x = 1\n", lookupOpenBytes/10+100)
	if err := os.WriteFile(filepath.Join(dir, "long.go"), []byte(long), 0o644); err != nil {
		t.Fatal(err)
	}
	n.now = func() time.Time { return time.Now().Add(time.Minute) } // past the refresh
	got = n.Texts(doc, open, 1)
	if len(got) != 1 || got[0] != long[len(long)-lookupOpenBytes:] {
		t.Errorf("a long file's text: %d bytes, want its last %d", len(got[0]), lookupOpenBytes)
	}
}

// TestNeighborsRefresh: a folder is listed again only after
// neighborsRefresh, and then a changed file is read again.
func TestNeighborsRefresh(t *testing.T) {
	dir := neighborFolder(t, [2]string{"a.go", "package p // one"}, [2]string{"doc.go", ""})
	now := time.Now()
	n := Neighbors{now: func() time.Time { return now }}
	doc := fileURI(filepath.Join(dir, "doc.go"))
	if got := n.Texts(doc, nil, 8); !slices.Equal(got, []string{"package p // one"}) {
		t.Fatalf("Texts = %q", got)
	}
	if err := os.WriteFile(filepath.Join(dir, "a.go"), []byte("package p // two!"), 0o644); err != nil {
		t.Fatal(err)
	}
	if got := n.Texts(doc, nil, 8); !slices.Equal(got, []string{"package p // one"}) {
		t.Errorf("within the refresh interval: %q, want the text read before", got)
	}
	now = now.Add(neighborsRefresh)
	if got := n.Texts(doc, nil, 8); !slices.Equal(got, []string{"package p // two!"}) {
		t.Errorf("after the refresh interval: %q, want the new text", got)
	}
	if err := os.Remove(filepath.Join(dir, "a.go")); err != nil {
		t.Fatal(err)
	}
	now = now.Add(neighborsRefresh)
	if got := n.Texts(doc, nil, 8); len(got) != 0 {
		t.Errorf("after removing the file: %q, want none", got)
	}
}

// TestNeighborsFolders: at most neighborDirs folders are remembered.
func TestNeighborsFolders(t *testing.T) {
	var n Neighbors
	for i := 0; i < neighborDirs+5; i++ {
		dir := neighborFolder(t, [2]string{"a.go", "package p"})
		n.Texts(fileURI(filepath.Join(dir, "doc.go")), nil, 8)
	}
	if len(n.dirs) != neighborDirs {
		t.Errorf("%d folders remembered, want %d", len(n.dirs), neighborDirs)
	}
}

// othersFiller records the texts each fill's context lookup searches.
type othersFiller struct {
	mu     sync.Mutex
	others [][]string
}

func (f *othersFiller) Fill(ctx context.Context, req FillRequest) (FillResult, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.others = append(f.others, req.LookupOthers)
	return FillResult{Text: "x", Forwards: 1, Stop: "eos"}, nil
}

// TestEngineNeighbors: the lookup searches the open documents first, then
// the files beside the document that are not open; NoFiles turns the
// files off.
func TestEngineNeighbors(t *testing.T) {
	dir := neighborFolder(t,
		[2]string{"disk.go", "package p // on disk"},
		[2]string{"edited.go", "package p // saved text"},
	)
	doc := NewDocument(fileURI(filepath.Join(dir, "doc.go")), "go", 1, "package p\n\nfunc f() {\n\t\n}\n")
	defer doc.Close()
	edited := NewDocument(fileURI(filepath.Join(dir, "edited.go")), "go", 1, "package p // unsaved text")
	defer edited.Close()
	f := &othersFiller{}
	e := &Engine{Filler: f, Neighbors: &Neighbors{}}
	req := Request{Doc: doc, Position: Position{Line: 3, Character: 1}, Encoding: UTF16, Settings: DefaultSettings(),
		Open: []*Document{edited, doc}}
	if _, err := e.Complete(context.Background(), req); err != nil {
		t.Fatal(err)
	}
	req.Settings.NoFiles = true
	if _, err := e.Complete(context.Background(), req); err != nil {
		t.Fatal(err)
	}
	want := [][]string{
		{"package p // unsaved text", "package p // on disk"},
		{"package p // unsaved text"},
	}
	if len(f.others) != 2 || !slices.Equal(f.others[0], want[0]) || !slices.Equal(f.others[1], want[1]) {
		t.Errorf("lookup texts %q, want %q", f.others, want)
	}
}

// BenchmarkNeighbors: what the lookup's files cost a request beside
// net/http/server.go (the Go tree's net/http: about 150 files): "cached"
// is a request within neighborsRefresh of the last listing, "listing"
// one that lists the folder again (the files' texts are kept unless
// they changed), "cold" one that also reads the 8 files.
func BenchmarkNeighbors(b *testing.B) {
	doc := fileURI(filepath.Join(runtime.GOROOT(), "src", "net", "http", "server.go"))
	b.Run("cached", func(b *testing.B) {
		var n Neighbors
		n.Texts(doc, nil, LookupOpenDocs)
		for b.Loop() {
			n.Texts(doc, nil, LookupOpenDocs)
		}
	})
	b.Run("listing", func(b *testing.B) {
		now := time.Now()
		n := Neighbors{now: func() time.Time { return now }}
		n.Texts(doc, nil, LookupOpenDocs)
		for b.Loop() {
			now = now.Add(neighborsRefresh)
			n.Texts(doc, nil, LookupOpenDocs)
		}
	})
	b.Run("cold", func(b *testing.B) {
		for b.Loop() {
			var n Neighbors
			if len(n.Texts(doc, nil, LookupOpenDocs)) != LookupOpenDocs {
				b.Fatal("net/http has fewer files than the lookup takes")
			}
		}
	})
}
