package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/unmask/unmask/completion"
)

func init() {
	register(command{
		name:    "complete",
		summary: "print the completion the server would insert at FILE:LINE:COL",
		run:     runComplete,
	})
}

func runComplete(args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("complete", flag.ContinueOnError)
	fs.SetOutput(stderr)
	dir := fs.String("model", "", "checkpoint folder (default: the model embedded in the binary)")
	asJSON := fs.Bool("json", false, "print the text with forward passes, tokens and milliseconds as JSON")
	def := completion.DefaultSettings()
	maxTokens := fs.Int("max-tokens", def.MaxTokens, "longest completion in tokens")
	ctxTokens := fs.Int("context-tokens", def.ContextTokens, "prefix+suffix budget in tokens")
	var openFiles []string
	fs.Func("open", "a file open in the editor beside FILE (repeatable, most recently used first): the context lookup searches those in FILE's language, as the language server does", func(s string) error {
		openFiles = append(openFiles, s)
		return nil
	})
	files := fs.Bool("files", !def.NoFiles, "the context lookup also searches the files beside FILE on disk (its folder, its extension, newest first), as the language server's lookupFiles does")
	body := fs.Bool("body", !def.NoBody, "when the completion ends by opening a block the code below has no body for, complete the body too, as the language server's blockBody does")
	alternatives := fs.Int("alternatives", 1, "ask for up to N different completions, as the server does when ghost text is asked for explicitly; the others follow the first, each after a line \"--- alternative K\" (in --json: \"more\")")
	anyLanguage := fs.Bool("any-language", false, "complete FILE even when the model was not trained on its language, as the language server does for the languages its \"languages\" setting lists")
	budget := fs.Duration("budget", def.TimeBudget, "decode time limit, as the language server's timeBudgetMs (0 = none): when it runs out, the completion is what is committed")
	usage := func() error {
		fmt.Fprintln(stderr, "usage: unmask complete FILE:LINE:COL [--model DIR] [--max-tokens N] [--budget 500ms] [--open FILE ...] [--json]")
		fmt.Fprintln(stderr, "LINE and COL are 1-based; COL counts characters. Prints exactly the text the")
		fmt.Fprintln(stderr, "language server would insert there (nothing when it has no completion).")
		fs.PrintDefaults()
		return errUsage
	}
	// Flags may come before or after the position.
	var pos []string
	for {
		if err := fs.Parse(args); err != nil {
			return errUsage
		}
		if fs.NArg() == 0 {
			break
		}
		pos = append(pos, fs.Arg(0))
		args = fs.Args()[1:]
	}
	if len(pos) != 1 {
		return usage()
	}
	file, line, col, err := parseFilePos(pos[0])
	if err != nil {
		fmt.Fprintln(stderr, "unmask complete:", err)
		return usage()
	}
	doc, err := readDocument(file)
	if err != nil {
		return err
	}
	defer doc.Close()
	var open []*completion.Document
	for _, f := range openFiles {
		o, err := readDocument(f)
		if err != nil {
			return err
		}
		defer o.Close()
		open = append(open, o)
	}

	start := time.Now()
	filler, err := openFiller(*dir, 0)
	if err != nil {
		return err
	}
	defer filler.Close()
	loaded := time.Since(start)

	s := def
	s.MaxTokens, s.ContextTokens, s.TimeBudget, s.NoBody, s.NoFiles = *maxTokens, *ctxTokens, *budget, !*body, !*files
	s.Alternatives, s.AnyLanguage = *alternatives, *anyLanguage
	// Characters are code points: UTF-32 positions.
	p := completion.Position{Line: uint32(line - 1), Character: uint32(col - 1)}
	eng := &completion.Engine{Filler: filler, Cache: filler.Cache, Neighbors: &completion.Neighbors{}, Languages: languagesOf(filler.Backend)}
	res, err := eng.Complete(context.Background(), completion.Request{Doc: doc, Position: p, Encoding: completion.UTF32, Settings: s, Open: open})
	if errors.Is(err, completion.ErrLanguage) {
		return fmt.Errorf("%w; --any-language completes it anyway", err)
	}
	if err != nil {
		return err
	}
	if !*asJSON {
		if res.Text == "" {
			// Nothing is printed on stdout, as the server would insert
			// nothing; say why on stderr.
			fmt.Fprintf(stderr, "unmask complete: no completion at %s (the model wrote %q, stop %s)\n", pos[0], res.Fill.Text, res.Fill.Stop)
		}
		if _, err := io.WriteString(stdout, res.Text); err != nil {
			return err
		}
		for i, m := range res.More {
			if _, err := fmt.Fprintf(stdout, "\n--- alternative %d\n%s", i+2, m); err != nil {
				return err
			}
		}
		return nil
	}
	enc := json.NewEncoder(stdout)
	enc.SetIndent("", "  ")
	return enc.Encode(map[string]any{
		"text":         res.Text,
		"more":         res.More,
		"moreForwards": res.MoreForwards,
		"raw":          res.Fill.Text,
		"body":         res.Body,
		"line":         res.Range.Start.Line + 1,
		"col":          res.Range.Start.Character + 1,
		"language":     doc.LanguageID,
		"syntax":       res.Window.Syntax,
		"forwards":     res.Fill.Forwards,
		"tokens":       res.Fill.Tokens,
		"stop":         res.Fill.Stop,
		"context":      res.Fill.ContextTokens,
		"prefillMs":    float64(res.Fill.Prefill.Microseconds()) / 1000,
		"denoiseMs":    float64(res.Fill.Denoise.Microseconds()) / 1000,
		"ms":           float64(res.Elapsed.Microseconds()) / 1000,
		"loadMs":       float64(loaded.Microseconds()) / 1000,
	})
}

// parseFilePos splits FILE:LINE:COL (the file name may hold colons).
func parseFilePos(s string) (file string, line, col int, err error) {
	i := strings.LastIndexByte(s, ':')
	j := -1
	if i > 0 {
		j = strings.LastIndexByte(s[:i], ':')
	}
	if j <= 0 {
		return "", 0, 0, fmt.Errorf("position %q is not FILE:LINE:COL", s)
	}
	line, err1 := strconv.Atoi(s[j+1 : i])
	col, err2 := strconv.Atoi(s[i+1:])
	if err1 != nil || err2 != nil || line < 1 || col < 1 {
		return "", 0, 0, fmt.Errorf("position %q: LINE and COL must be numbers from 1", s)
	}
	return s[:j], line, col, nil
}

// readDocument opens a file as the editor would: a document at its file
// URI, in the language its extension names.
func readDocument(file string) (*completion.Document, error) {
	data, err := os.ReadFile(file)
	if err != nil {
		return nil, err
	}
	abs, _ := filepath.Abs(file)
	return completion.NewDocument("file://"+filepath.ToSlash(abs), completion.LanguageOf(file), 1, string(data)), nil
}
