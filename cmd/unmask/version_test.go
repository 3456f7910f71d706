package main

import (
	"bytes"
	"runtime/debug"
	"strings"
	"testing"
)

func TestVersion(t *testing.T) {
	for _, args := range [][]string{{"version"}, {"--version"}} {
		var out, errb bytes.Buffer
		if code := run(args, &out, &errb); code != 0 {
			t.Fatalf("%q: exit %d: %s", args, code, errb.String())
		}
		s := out.String()
		for _, want := range []string{"unmask " + buildVersion() + ", go", "cpu: ", "cuda: ",
			"model: embedded (unmask family), hidden 256", "languages: go, python", "model.safetensors sha256 "} {
			if !strings.Contains(s, want) {
				t.Errorf("%q: output lacks %q:\n%s", args, want, s)
			}
		}
	}
	var out, errb bytes.Buffer
	if code := run([]string{"--version", "--model", t.TempDir()}, &out, &errb); code != 1 || !strings.Contains(errb.String(), "tokenizer.json") {
		t.Errorf("a folder with no checkpoint: exit %d, stderr %q", code, errb.String())
	}
}

func TestVCSOf(t *testing.T) {
	bi := &debug.BuildInfo{Settings: []debug.BuildSetting{
		{Key: "vcs.revision", Value: "36b610f0123456789abcdef"}, {Key: "vcs.modified", Value: "true"}}}
	if rev, mod := vcsOf(bi); rev != "36b610f01234" || !mod {
		t.Errorf("vcsOf = %q, %v", rev, mod)
	}
	if rev, mod := vcsOf(&debug.BuildInfo{}); rev != "" || mod {
		t.Errorf("vcsOf(no vcs) = %q, %v", rev, mod)
	}
}
