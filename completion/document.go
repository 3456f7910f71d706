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

	// Reordering of late notifications (see Apply): the log holds the
	// recent ones in version order, over base, the text at baseVersion.
	log         []notification
	base        string
	baseVersion int32
}

// NewDocument returns a document holding text.
func NewDocument(uri, languageID string, version int32, text string) *Document {
	d := &Document{URI: uri, LanguageID: languageID, version: version, text: text, base: text, baseVersion: version}
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

// Apply applies one didChange notification's changes, in order, as the
// document's given version. Positions are in enc.
//
// Notifications may arrive out of order: Helix 25.01 sends each didChange
// from its own task, and our Helix test saw version 1 arrive after version
// 2. So the document keeps the recent notifications (a log, in version
// order, over the text as it was before the oldest of them) and a late one
// is put in its place and the log replayed; a notification that does not
// apply to the text before it (a position past the end: typically one that
// arrived before its predecessor) is held and retried when an older one
// arrives. The text is that of the newest version up to which every
// notification applied; Version says which. A held notification is
// reported by an ErrHeld error, and dropped (with ErrDropped) once
// maxLog newer ones came after it without freeing it: then the client
// really sent a bad change, or lost one. Documents over maxLogBytes keep no
// log (their changes apply as they come), nor do changes with version 0
// (unversioned): they apply to the current text.
//
// On error the text is unchanged.
func (d *Document) Apply(version int32, changes []Change, enc Encoding) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	if version != 0 && (version <= d.baseVersion || d.logged(version)) {
		return fmt.Errorf("%w: %s version %d after %d", ErrVersion, d.URI, version, d.version)
	}
	n := notification{version: version, changes: changes, enc: enc}
	inOrder := version == 0 || version > d.version && d.held() == 0
	if inOrder {
		text, m, edits, full, err := apply(d.text, d.mapperLocked(), changes, enc)
		if err != nil {
			if version == 0 || len(d.text) > maxLogBytes {
				return fmt.Errorf("%s: %w", d.URI, err)
			}
			d.log = append(d.log, n) // held: its predecessor may be late
			return d.trim(fmt.Errorf("%w: %s version %d: %w", ErrHeld, d.URI, version, err))
		}
		if version == 0 {
			version = d.version
		}
		d.setText(version, text, m, edits, full)
		if d.restartLog(n.version == 0 || full) {
			return nil
		}
		d.log = append(d.log, n)
		return d.trim(nil)
	}
	// A late notification: put it in its place and replay.
	i := len(d.log)
	for i > 0 && d.log[i-1].version > version {
		i--
	}
	d.log = append(d.log[:i], append([]notification{n}, d.log[i:]...)...)
	err := d.replay()
	if err != nil && i == len(d.log)-1 && d.version < version {
		// The newest is held behind older held ones. If it applies to
		// the text as it stands, those were bad changes, not early ones.
		if text, _, _, full, aerr := apply(d.text, nil, changes, enc); aerr == nil {
			var dropped []int32
			kept := d.log[:0]
			for _, o := range d.log {
				if o.version > d.version && o.version < version {
					dropped = append(dropped, o.version)
					continue
				}
				kept = append(kept, o)
			}
			d.log = kept
			d.setText(version, text, nil, nil, true)
			d.restartLog(full)
			err = fmt.Errorf("%w: %s versions %v", ErrDropped, d.URI, dropped)
		}
	}
	return d.trim(err)
}

// ErrHeld reports a change that did not apply to the document's text and
// is held until an older change arrives (see Document.Apply).
var ErrHeld = errors.New("completion: change held until an earlier version arrives")

// ErrDropped reports a held change dropped after maxLog newer ones.
var ErrDropped = errors.New("completion: change dropped: it never applied")

// maxLog is how many recent notifications a document keeps to reorder a
// late one; maxLogBytes the largest text that keeps a log (a replay costs
// a copy of the text per notification).
const (
	maxLog      = 16
	maxLogBytes = 1 << 20
)

// A notification is one didChange as it arrived.
type notification struct {
	version int32
	changes []Change
	enc     Encoding
}

// restartLog starts the log afresh from the current text when restart is
// set (a whole-text change, an unversioned one) or the text is too big to
// keep a log, and reports whether it did.
func (d *Document) restartLog(restart bool) bool {
	if !restart && len(d.text) <= maxLogBytes {
		return false
	}
	d.log, d.base, d.baseVersion = nil, d.text, d.version
	return true
}

// logged reports whether the log holds version.
func (d *Document) logged(version int32) bool {
	for _, n := range d.log {
		if n.version == version {
			return true
		}
	}
	return false
}

// held counts the logged notifications newer than the text's version.
func (d *Document) held() int {
	k := 0
	for _, n := range d.log {
		if n.version > d.version {
			k++
		}
	}
	return k
}

// replay rebuilds the text from the log's base, applying notifications in
// version order up to the first that does not apply. It reports ErrHeld
// when some are left.
func (d *Document) replay() error {
	text, version := d.base, d.baseVersion
	var held error
	for _, n := range d.log {
		t, _, _, _, err := apply(text, nil, n.changes, n.enc)
		if err != nil {
			held = fmt.Errorf("%w: %s version %d: %w", ErrHeld, d.URI, n.version, err)
			break
		}
		text, version = t, n.version
	}
	// The log's edits do not describe the old tree: full, so it parses afresh.
	d.setText(version, text, nil, nil, true)
	return held
}

// trim keeps the log at most maxLog long: the oldest applied notification
// folds into the base; a held one that many notifications could not free
// is dropped. It returns err, joined with the drop's.
func (d *Document) trim(err error) error {
	for len(d.log) > maxLog {
		n := d.log[0]
		d.log = d.log[1:]
		if n.version <= d.version {
			d.base, _, _, _, _ = apply(d.base, nil, n.changes, n.enc) // applied once already
			d.baseVersion = n.version
			continue
		}
		err = errors.Join(err, fmt.Errorf("%w: %s version %d", ErrDropped, d.URI, n.version))
		d.base, d.baseVersion = d.text, d.version
		err = errors.Join(err, d.replay())
	}
	return err
}

// setText installs a new text and updates the syntax tree: incrementally
// with edits, or afresh when full.
func (d *Document) setText(version int32, text string, m *Mapper, edits []sitter.EditInput, full bool) {
	d.version, d.text, d.mapper = version, text, m
	switch {
	case len(text) > MaxParseBytes:
		if d.syn != nil {
			d.syn.close()
			d.syn = nil
		}
	case d.syn == nil:
		d.syn = newSyntax(d.LanguageID)
	case full:
		d.syn.drop() // a full replacement is a fresh parse
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
}

// apply returns text with changes applied in order (m maps text, or is
// nil), the mapper of the result when known, the tree edits, and whether
// a change replaced the whole text (then the edits are meaningless).
func apply(text string, m *Mapper, changes []Change, enc Encoding) (string, *Mapper, []sitter.EditInput, bool, error) {
	var edits []sitter.EditInput
	full := false
	for i, c := range changes {
		if c.Range == nil {
			text, m, edits, full = c.Text, nil, nil, true
			continue
		}
		if m == nil {
			m = NewMapper(text)
		}
		start, err := m.Offset(c.Range.Start, enc)
		if err != nil {
			return "", nil, nil, false, fmt.Errorf("completion: change %d: start: %w", i, err)
		}
		end, err := m.Offset(c.Range.End, enc)
		if err != nil {
			return "", nil, nil, false, fmt.Errorf("completion: change %d: end: %w", i, err)
		}
		if end < start {
			return "", nil, nil, false, fmt.Errorf("completion: change %d: %w: range end before start", i, ErrPosition)
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
	return text, m, edits, full, nil
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
