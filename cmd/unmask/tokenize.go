package main

import (
	"bufio"
	"flag"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"

	"github.com/unmask/unmask/tokenizer"
)

func init() {
	register(command{name: "tokenize", summary: "print the token ids of a file, or (--decode) the text of ids", run: runTokenize})
}

// tokenizeStdin is where tokenize reads when no FILE is given (tests replace it).
var tokenizeStdin io.Reader = os.Stdin

func runTokenize(args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("tokenize", flag.ContinueOnError)
	fs.SetOutput(stderr)
	tokPath := fs.String("tokenizer", "", "Hugging Face tokenizer.json (required)")
	decode := fs.Bool("decode", false, "read token ids (space-separated) and print their text")
	plain := fs.Bool("plain", false, "encode special tokens in FILE as text instead of matching them")
	fs.Usage = func() {
		fmt.Fprintln(stderr, "usage: unmask tokenize --tokenizer PATH [--plain] [FILE]")
		fmt.Fprintln(stderr, "       unmask tokenize --tokenizer PATH --decode [FILE]")
		fmt.Fprintln(stderr, "Prints FILE's token ids on one line, space-separated; FILE defaults to standard input.")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		return errUsage
	}
	if *tokPath == "" || fs.NArg() > 1 {
		fs.Usage()
		return errUsage
	}
	tk, err := tokenizer.Load(*tokPath)
	if err != nil {
		return err
	}
	var in []byte
	if fs.NArg() == 1 {
		in, err = os.ReadFile(fs.Arg(0))
	} else {
		in, err = io.ReadAll(tokenizeStdin)
	}
	if err != nil {
		return err
	}
	w := bufio.NewWriter(stdout)
	if *decode {
		ids, err := parseIDs(string(in), tk.VocabSize())
		if err != nil {
			return err
		}
		w.WriteString(tk.Decode(ids))
		return w.Flush()
	}
	var ids []int32
	if *plain {
		ids = tk.EncodePlain(string(in))
	} else {
		ids = tk.Encode(string(in))
	}
	buf := make([]byte, 0, 8)
	for i, id := range ids {
		if i > 0 {
			w.WriteByte(' ')
		}
		w.Write(strconv.AppendInt(buf[:0], int64(id), 10))
	}
	w.WriteByte('\n')
	return w.Flush()
}

// parseIDs reads whitespace-separated token ids, each below vocab.
func parseIDs(s string, vocab int) ([]int32, error) {
	fields := strings.Fields(s)
	ids := make([]int32, len(fields))
	for i, f := range fields {
		n, err := strconv.ParseInt(f, 10, 32)
		if err != nil || n < 0 || n >= int64(vocab) {
			return nil, fmt.Errorf("token id %d: %q is not an id below the vocabulary size %d", i+1, f, vocab)
		}
		ids[i] = int32(n)
	}
	return ids, nil
}
