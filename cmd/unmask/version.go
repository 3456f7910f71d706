package main

import (
	"cmp"
	"crypto/sha256"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
	"runtime/debug"
	"slices"
	"strings"

	"github.com/unmask/unmask/model"
	"github.com/unmask/unmask/model/defaultmodel"
	"github.com/unmask/unmask/tokenizer"
)

func init() {
	register(command{
		name:    "version",
		summary: "print the build, the CPU kernels and the model it runs (for bug reports)",
		run:     runVersion,
	})
}

// version overrides buildVersion when set at link time
// (-ldflags "-X main.version=v1.2.3").
var version = ""

// buildVersion is the version the binary reports (serverInfo in
// initialize, `unmask version`): the link-time version, else the module's
// version when it was installed as one (go install ...@v1.2.3), else
// "devel" with the commit it was built from when the build recorded one
// (go build in a checkout; go run records none).
func buildVersion() string {
	if version != "" {
		return version
	}
	bi, ok := debug.ReadBuildInfo()
	if !ok {
		return "devel"
	}
	if v := bi.Main.Version; v != "" && v != "(devel)" {
		return v
	}
	rev, modified := vcsOf(bi)
	if rev == "" {
		return "devel"
	}
	if modified {
		rev += "-modified"
	}
	return "devel-" + rev
}

// vcsOf returns the commit a build recorded (12 hex digits) and whether
// the tree had changes.
func vcsOf(bi *debug.BuildInfo) (rev string, modified bool) {
	for _, s := range bi.Settings {
		switch s.Key {
		case "vcs.revision":
			rev = s.Value
		case "vcs.modified":
			modified = s.Value == "true"
		}
	}
	return rev[:min(len(rev), 12)], modified
}

func runVersion(args []string, stdout, stderr io.Writer) error {
	flags := flag.NewFlagSet("version", flag.ContinueOnError)
	flags.SetOutput(stderr)
	dir := flags.String("model", "", "describe this checkpoint folder instead of the embedded model")
	if err := flags.Parse(args); err != nil {
		return errUsage
	}
	if flags.NArg() > 0 {
		fmt.Fprintln(stderr, "usage: unmask version [--model DIR]")
		return errUsage
	}
	fmt.Fprintf(stdout, "unmask %s, %s %s/%s\n", buildVersion(), runtime.Version(), runtime.GOOS, runtime.GOARCH)
	fmt.Fprintf(stdout, "cpu: %s matrix kernel", model.KernelName())
	if model.BF16DotAvailable() {
		fmt.Fprint(stdout, ", BF16 dot products")
	}
	fmt.Fprintf(stdout, ", %d cores\n", runtime.NumCPU())
	if cudaBuild {
		fmt.Fprintln(stdout, "cuda: built in (unmask engine --device cuda)")
	} else {
		fmt.Fprintln(stdout, "cuda: not in this build (go build -tags cuda)")
	}
	return describeModel(stdout, *dir)
}

// describeModel prints what `unmask version` says of a checkpoint: its
// shape, size, languages, training and the digest of its weights, which
// names the exact weights in a bug report.
func describeModel(w io.Writer, dir string) error {
	var fsys fs.FS = defaultmodel.FS()
	name := "embedded"
	open := func() (*model.Weights, error) { return model.OpenWeights(fsys) }
	if dir != "" {
		fsys, name = os.DirFS(dir), dir
		open = func() (*model.Weights, error) { return model.OpenWeightsDir(dir) } // memory-mapped
	}
	// The tokenizer and the tensors' headers, as model.Open reads them,
	// without building the model: a real checkpoint's float32 weights
	// would take gigabytes.
	data, err := fs.ReadFile(fsys, "tokenizer.json")
	if err == nil {
		_, err = tokenizer.Parse(data)
	}
	if err != nil {
		return fmt.Errorf("model: %s: %w", filepath.Join(name, "tokenizer.json"), err)
	}
	wts, err := open()
	if err != nil {
		return err
	}
	c, s := wts.Config(), wts.Summary()
	wts.Close()
	fmt.Fprintf(w, "model: %s (%s family), hidden %d, %d layers, vocab %d, %.2fM parameters, %.1f MB %s\n",
		name, c.Family, c.Hidden, c.Layers, c.Vocab, float64(s.Parameters)/1e6, float64(s.Bytes)/1e6, dtypesOf(s))
	if len(c.Languages) > 0 {
		fmt.Fprintf(w, "  languages: %s\n", strings.Join(c.Languages, ", "))
	} else {
		fmt.Fprintln(w, "  languages: not stated (the server completes every language)")
	}
	if raw, err := fs.ReadFile(fsys, "config.json"); err == nil {
		var t struct {
			Train *struct {
				Step   int   `json:"step"`
				Tokens int64 `json:"tokens_seen"`
			} `json:"unmask_train"`
		}
		if json.Unmarshal(raw, &t) == nil && t.Train != nil {
			fmt.Fprintf(w, "  trained: %d steps, %.1fM tokens in its last run\n", t.Train.Step, float64(t.Train.Tokens)/1e6)
		}
	}
	if f, err := fsys.Open("model.safetensors"); err == nil {
		// Streamed: a real checkpoint's file is gigabytes.
		h := sha256.New()
		_, err := io.Copy(h, f)
		f.Close()
		if err != nil {
			return fmt.Errorf("model.safetensors: %w", err)
		}
		fmt.Fprintf(w, "  model.safetensors sha256 %x\n", h.Sum(nil))
	}
	return nil
}

// dtypesOf names the dtypes a checkpoint stores, the commonest first.
func dtypesOf(s model.Summary) string {
	type dt struct {
		name string
		n    int64
	}
	var ds []dt
	for k, n := range s.DTypes {
		ds = append(ds, dt{k, n})
	}
	slices.SortFunc(ds, func(a, b dt) int { return cmp.Or(cmp.Compare(b.n, a.n), strings.Compare(a.name, b.name)) })
	names := make([]string, len(ds))
	for i, d := range ds {
		names[i] = d.name
	}
	return strings.Join(names, "+")
}
