package completion

import (
	"context"
	"path/filepath"
	"strings"

	sitter "github.com/smacker/go-tree-sitter"
	"github.com/smacker/go-tree-sitter/c"
	"github.com/smacker/go-tree-sitter/cpp"
	"github.com/smacker/go-tree-sitter/golang"
	"github.com/smacker/go-tree-sitter/java"
	"github.com/smacker/go-tree-sitter/javascript"
	"github.com/smacker/go-tree-sitter/python"
	"github.com/smacker/go-tree-sitter/rust"
	"github.com/smacker/go-tree-sitter/typescript/tsx"
	"github.com/smacker/go-tree-sitter/typescript/typescript"
)

// grammars maps an LSP languageId to its tree-sitter grammar. Languages
// not listed fall back to line windows.
var grammars = map[string]func() *sitter.Language{
	"go":              golang.GetLanguage,
	"python":          python.GetLanguage,
	"javascript":      javascript.GetLanguage,
	"javascriptreact": javascript.GetLanguage,
	"typescript":      typescript.GetLanguage,
	"typescriptreact": tsx.GetLanguage,
	"rust":            rust.GetLanguage,
	"c":               c.GetLanguage,
	"cpp":             cpp.GetLanguage,
	"java":            java.GetLanguage,
}

// extensions maps a file name extension to an LSP languageId, for `unmask
// complete`, which has a path and no client to say the language.
var extensions = map[string]string{
	".go": "go", ".py": "python", ".js": "javascript", ".mjs": "javascript",
	".cjs": "javascript", ".jsx": "javascriptreact", ".ts": "typescript",
	".tsx": "typescriptreact", ".rs": "rust", ".c": "c", ".h": "c",
	".cc": "cpp", ".cpp": "cpp", ".cxx": "cpp", ".hpp": "cpp", ".hh": "cpp",
	".java": "java",
}

// LanguageOf returns the LSP languageId of a file name by its extension, or
// "plaintext".
func LanguageOf(path string) string {
	if id, ok := extensions[strings.ToLower(filepath.Ext(path))]; ok {
		return id
	}
	return "plaintext"
}

// Supported reports whether languageID has a tree-sitter grammar.
func Supported(languageID string) bool { return grammars[languageID] != nil }

// MaxParseBytes is the largest document that gets a syntax tree; larger
// ones use line windows, so a huge file can't stall edits.
const MaxParseBytes = 4 << 20

// parseLimit bounds one parse (microseconds). Parses are never cancelled
// through a context: in go-tree-sitter a cancelled parse can leave the
// parser failing every later parse (see notes/go-dependencies.md), so the
// limit is the only way out of a slow parse.
var parseLimit = 2_000_000 // a variable for tests

// A syntax holds one document's parser and tree. It is not safe for
// concurrent use: the document's mutex guards it, since go-tree-sitter
// writes a node cache on every read of a Tree.
type syntax struct {
	lang   *sitter.Language
	parser *sitter.Parser
	tree   *sitter.Tree // nil until parsed, or after a failed parse
	stale  bool         // edits applied to tree, not reparsed yet
}

func newSyntax(languageID string) *syntax {
	get := grammars[languageID]
	if get == nil {
		return nil
	}
	return &syntax{lang: get()}
}

// edit records an edit on the tree; the tree must be reparsed before its
// positions are read (EditInput ignores NewEndPoint).
func (s *syntax) edit(e sitter.EditInput) {
	if s.tree != nil {
		s.tree.Edit(e)
		s.stale = true
	}
}

// parse brings the tree up to date with src. On failure the parser is
// replaced and the tree dropped; callers fall back to line windows.
func (s *syntax) parse(src string) *sitter.Tree {
	if s.tree != nil && !s.stale {
		return s.tree
	}
	if s.parser == nil {
		s.parser = sitter.NewParser()
		s.parser.SetLanguage(s.lang)
		s.parser.SetOperationLimit(parseLimit)
	}
	tree, err := s.parser.ParseCtx(context.Background(), s.tree, []byte(src))
	if err != nil || tree == nil {
		s.parser.Close()
		s.parser = nil
		s.drop()
		return nil
	}
	if s.tree != nil {
		s.tree.Close()
	}
	s.tree, s.stale = tree, false
	return tree
}

// drop forgets the tree, so the next parse starts fresh.
func (s *syntax) drop() {
	if s.tree != nil {
		s.tree.Close()
		s.tree = nil
	}
	s.stale = false
}

func (s *syntax) close() {
	s.drop()
	if s.parser != nil {
		s.parser.Close()
		s.parser = nil
	}
}
