package completion

import (
	"errors"
	"fmt"
	"strings"
	"sync"

	sitter "github.com/smacker/go-tree-sitter"
)

// A Change is one LSP content change: Range nil replaces the whole text.
type Change struct {
	Range *Range
	Text  string
}

// ErrVersion reports a change whose version is not newer than the document's.
var ErrVersion = errors.New("completion: document version did not increase")

// A Document is one open text document: its text, version and syntax tree.
// Its methods are safe for concurrent use; edits and completions of the
// same document serialize on its mutex, which also confines the tree-sitter
// tree to one goroutine at a time.
type Document struct {
	URI        string
	LanguageID string

	mu      sync.Mutex
	version int32
	text    string
	mapper  *Mapper // nil until needed after an edit
	syn     *syntax // nil for languages without a grammar or huge texts
	ratio   float64 // measured bytes per model token; 0 until measured
}

// NewDocument returns a document holding text.
func NewDocument(uri, languageID string, version int32, text string) *Document {
	d := &Document{URI: uri, LanguageID: languageID, version: version, text: text}
	if len(text) <= MaxParseBytes {
		d.syn = newSyntax(languageID)
	}
	return d
}

// Version returns the document's version.
func (d *Document) Version() int32 {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.version
}

// Text returns the document's text.
func (d *Document) Text() string {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.text
}

// mapperLocked returns the position mapper of the current text.
func (d *Document) mapperLocked() *Mapper {
	if d.mapper == nil {
		d.mapper = NewMapper(d.text)
	}
	return d.mapper
}

// Apply applies changes in order and sets the version. Positions are in
// enc. On error the document is unchanged.
func (d *Document) Apply(version int32, changes []Change, enc Encoding) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	if version <= d.version && version != 0 {
		return fmt.Errorf("%w: %s version %d after %d", ErrVersion, d.URI, version, d.version)
	}
	text, m := d.text, d.mapperLocked()
	var edits []sitter.EditInput
	for i, c := range changes {
		if c.Range == nil {
			text, m = c.Text, nil
			edits = nil
			if d.syn != nil {
				d.syn.drop() // a full replacement is a fresh parse
			}
			continue
		}
		if m == nil {
			m = NewMapper(text)
		}
		start, err := m.Offset(c.Range.Start, enc)
		if err != nil {
			return fmt.Errorf("completion: change %d of %s: start: %w", i, d.URI, err)
		}
		end, err := m.Offset(c.Range.End, enc)
		if err != nil {
			return fmt.Errorf("completion: change %d of %s: end: %w", i, d.URI, err)
		}
		if end < start {
			return fmt.Errorf("completion: change %d of %s: %w: range end before start", i, d.URI, ErrPosition)
		}
		sp := m.Point(start)
		edits = append(edits, sitter.EditInput{
			StartIndex:  uint32(start),
			OldEndIndex: uint32(end),
			NewEndIndex: uint32(start + len(c.Text)),
			StartPoint:  sitter.Point(sp),
			OldEndPoint: sitter.Point(m.Point(end)),
			NewEndPoint: sitter.Point(EndPoint(sp, c.Text)),
		})
		var b strings.Builder
		b.Grow(len(text) - (end - start) + len(c.Text))
		b.WriteString(text[:start])
		b.WriteString(c.Text)
		b.WriteString(text[end:])
		text, m = b.String(), nil
	}
	d.version, d.text, d.mapper = version, text, m
	switch {
	case len(text) > MaxParseBytes:
		if d.syn != nil {
			d.syn.close()
			d.syn = nil
		}
	case d.syn == nil:
		d.syn = newSyntax(d.LanguageID)
	default:
		for _, e := range edits {
			d.syn.edit(e)
		}
		if d.syn.tree != nil {
			// Reparse now: an edited tree reports wrong positions until
			// reparsed, and an incremental parse costs well under a
			// millisecond.
			d.syn.parse(text)
		}
	}
	return nil
}

// Close releases the document's parser and tree.
func (d *Document) Close() {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.syn != nil {
		d.syn.close()
		d.syn = nil
	}
}
