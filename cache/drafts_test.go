package cache

import "testing"

func TestDrafts(t *testing.T) {
	d, err := NewDrafts[sized](Config{Fingerprint: "m", DraftScanBack: 8})
	if err != nil {
		t.Fatal(err)
	}
	d.Put("a.go", goPrefix, goSuffix, sized{"first", 100})
	tests := []struct {
		name, doc, prefix, suffix string
		want, typed               string
		ok                        bool
	}{
		{"same context", "a.go", goPrefix, goSuffix, "first", "", true},
		{"typed since", "a.go", goPrefix + "fmt.", goSuffix, "first", "fmt.", true},
		{"typed past ScanBack", "a.go", goPrefix + "fmt.Println", goSuffix, "", "", false},
		{"other document", "b.go", goPrefix, goSuffix, "", "", false},
		{"other suffix", "a.go", goPrefix, "}", "", "", false},
		{"deleted", "a.go", goPrefix[:len(goPrefix)-2], goSuffix, "", "", false},
	}
	for _, tt := range tests {
		v, typed, ok := d.Get(tt.doc, tt.prefix, tt.suffix)
		if v.name != tt.want || typed != tt.typed || ok != tt.ok {
			t.Errorf("%s: Get(%q, …) = %q, %q, %v, want %q, %q, %v", tt.name, tt.doc, v.name, typed, ok, tt.want, tt.typed, tt.ok)
		}
	}
	// A newer draft for the same context replaces the first.
	d.Put("a.go", goPrefix, goSuffix, sized{"second", 100})
	if v, _, _ := d.Get("a.go", goPrefix, goSuffix); v.name != "second" {
		t.Errorf("Get after a second Put = %q, want %q", v.name, "second")
	}
	if st := d.Stats(); st.Count != 1 || st.Bytes != 100+entryOverhead {
		t.Errorf("Stats() = %+v, want 1 draft of %d bytes", st, 100+entryOverhead)
	}
	d.SetFingerprint("other")
	if _, _, ok := d.Get("a.go", goPrefix, goSuffix); ok {
		t.Errorf("Get under another fingerprint hit")
	}
	d.SetFingerprint("m")
	d.Forget("a.go")
	if _, _, ok := d.Get("a.go", goPrefix, goSuffix); ok {
		t.Errorf("Get after Forget hit")
	}
}

func TestDraftsCap(t *testing.T) {
	const capacity = 10_000
	d, err := NewDrafts[sized](Config{DraftBytes: capacity})
	if err != nil {
		t.Fatal(err)
	}
	for i := range 1000 {
		doc := string(rune('a' + i%7))
		d.Put(doc, goPrefix+string(rune('A'+i%50)), goSuffix, sized{"x", int64(100 + i%900)})
		if st := d.Stats(); st.Bytes > capacity {
			t.Fatalf("after %d Puts Stats().Bytes = %d, over the cap %d", i+1, st.Bytes, capacity)
		}
	}
	d.Put("big", goPrefix, goSuffix, sized{"big", capacity + 1})
	if _, _, ok := d.Get("big", goPrefix, goSuffix); ok {
		t.Errorf("a draft larger than the cap was kept")
	}
	if st := d.Stats(); st.Evicted == 0 || st.Count > 7*draftsPerDoc {
		t.Errorf("Stats() = %+v: want evictions and at most %d drafts per document", st, draftsPerDoc)
	}
}
