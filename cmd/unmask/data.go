package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"

	"github.com/unmask/unmask/tokenizer"
	"github.com/unmask/unmask/train/corpus"
)

func init() {
	register(command{
		name:    "data",
		summary: "build the training corpus: `unmask data build --out DIR`",
		run:     runData,
	})
}

func runData(args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 || args[0] != "build" {
		fmt.Fprintln(stderr, "usage: unmask data build --out DIR [--tokenizer FILE] [--goroot DIR] [--python-lib DIR] [--modcache DIR]")
		return errUsage
	}
	fs := flag.NewFlagSet("data build", flag.ContinueOnError)
	fs.SetOutput(stderr)
	out := fs.String("out", "train/data/shards", "output folder for shards, indexes and summary.json")
	tokPath := fs.String("tokenizer", "model/defaultmodel/tokenizer.json", "tokenizer.json to encode with")
	goroot := fs.String("goroot", "", "Go toolchain root (default: go env GOROOT); its src/ is walked")
	pylib := fs.String("python-lib", "/usr/lib/python3.11", `Python standard library ("" = skip)`)
	modcache := fs.String("modcache", "", `Go module cache (default: go env GOMODCACHE; "none" = skip)`)
	shard := fs.Int("shard-tokens", 16<<20, "tokens per shard file")
	if err := fs.Parse(args[1:]); err != nil {
		return errUsage
	}
	tok, err := tokenizer.Load(*tokPath)
	if err != nil {
		return err
	}
	if *goroot == "" {
		if *goroot, err = goEnv("GOROOT"); err != nil {
			return err
		}
	}
	if *modcache == "" {
		if *modcache, err = goEnv("GOMODCACHE"); err != nil {
			return err
		}
	} else if *modcache == "none" {
		*modcache = ""
	}
	srcs := []corpus.Source{{Name: "goroot", Root: filepath.Join(*goroot, "src"), Lang: "go", Ext: ".go", License: "BSD-3-Clause"}}
	if *pylib != "" {
		if st, err := os.Stat(*pylib); err == nil && st.IsDir() {
			srcs = append(srcs, corpus.Source{Name: "cpython", Root: *pylib, Lang: "python", Ext: ".py", License: "PSF-2.0"})
		} else {
			fmt.Fprintf(stderr, "unmask data: skipping Python: %s is not a folder\n", *pylib)
		}
	}
	sum, err := corpus.Build(corpus.Options{Out: *out, Sources: srcs, ModCache: *modcache, Tokenizer: tok,
		ShardTokens: *shard, Progress: stderr})
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "%-40s %-13s %7s %9s %10s %8s  %s\n", "source", "license", "files", "MB", "tokens", "heldout", "dropped")
	for _, n := range sum.SortedSources() {
		s := sum.Sources[n]
		var dr []string
		for k, v := range s.Dropped {
			dr = append(dr, fmt.Sprintf("%s=%d", k, v))
		}
		fmt.Fprintf(stdout, "%-40.40s %-13s %7d %9.2f %10d %8d  %s\n", n, s.License, s.Files, float64(s.Bytes)/1e6, s.Tokens,
			s.HeldOutFiles, strings.Join(dr, " "))
	}
	fmt.Fprintf(stdout, "train: %d files, %d tokens in %d shards; heldout: %d files, %d tokens; %d modules skipped (license); %.0fs\n",
		sum.Files["train"], sum.Tokens["train"], len(sum.Shards["train"]), sum.Files["heldout"], sum.Tokens["heldout"],
		len(sum.SkippedModules), sum.Seconds)
	return nil
}

func goEnv(key string) (string, error) {
	b, err := exec.Command("go", "env", key).Output()
	if err != nil {
		return "", fmt.Errorf("unmask data: go env %s: %w", key, err)
	}
	v := strings.TrimSpace(string(b))
	if v == "" {
		return "", errors.New("unmask data: go env " + key + " is empty")
	}
	return v, nil
}
