//go:build amd64

package model

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// The assembly of the BF16 dot-product kernels is generated: the file in
// the tree must be what gen_dpbf16.go writes.
func TestGeneratedDPBF16(t *testing.T) {
	if testing.Short() {
		t.Skip("runs go run")
	}
	out := filepath.Join(t.TempDir(), "k.s")
	if b, err := exec.Command("go", "run", "gen_dpbf16.go", out).CombinedOutput(); err != nil {
		t.Fatalf("go run gen_dpbf16.go: %v\n%s", err, b)
	}
	want, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	got, err := os.ReadFile("kernels_dpbf16_amd64.s")
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, want) {
		t.Error("kernels_dpbf16_amd64.s differs from gen_dpbf16.go's output: run go generate ./model")
	}
}

// The instructions the Go assembler does not know are written as bytes;
// GNU as, where installed, must encode each the same.
func TestDPBF16EncodingsMatchGNUAs(t *testing.T) {
	as, err := exec.LookPath("as")
	if err != nil {
		t.Skip("no GNU as")
	}
	src, err := os.ReadFile("kernels_dpbf16_amd64.s")
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(string(src), "\n")
	insn := regexp.MustCompile(`^\s*// (V\w+ [yz]mm\d+(, [yz]mm\d+)+)$`)
	hexb := regexp.MustCompile(`0x([0-9A-F]{2})`)
	ours := map[string]string{}
	for i, l := range lines {
		if m := insn.FindStringSubmatch(l); m != nil && i+1 < len(lines) {
			var enc []string
			for _, h := range hexb.FindAllStringSubmatch(lines[i+1], -1) {
				enc = append(enc, strings.ToLower(h[1]))
			}
			ours[m[1]] = strings.Join(enc, " ")
		}
	}
	if len(ours) == 0 {
		t.Fatal("no byte-encoded instructions found")
	}
	dir := t.TempDir()
	var asm strings.Builder
	asm.WriteString(".intel_syntax noprefix\n")
	var order []string
	for in := range ours {
		order = append(order, in)
		asm.WriteString(strings.ToLower(in) + "\n")
	}
	if err := os.WriteFile(filepath.Join(dir, "t.s"), []byte(asm.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	if b, err := exec.Command(as, "-o", filepath.Join(dir, "t.o"), filepath.Join(dir, "t.s")).CombinedOutput(); err != nil {
		t.Skipf("as cannot assemble AVX-512 BF16 here: %v\n%s", err, b)
	}
	objdump, err := exec.LookPath("objdump")
	if err != nil {
		t.Skip("no objdump")
	}
	dis, err := exec.Command(objdump, "-d", "-M", "intel", filepath.Join(dir, "t.o")).Output()
	if err != nil {
		t.Fatal(err)
	}
	// "   0:	62 b2 5e 40 52 c0    	vdpbf16ps zmm0,zmm20,zmm16"
	row := regexp.MustCompile(`^\s*[0-9a-f]+:\s+((?:[0-9a-f]{2} )+)\s*(v\S+ .*)$`)
	gas := map[string]string{}
	for _, l := range strings.Split(string(dis), "\n") {
		if m := row.FindStringSubmatch(l); m != nil {
			gas[strings.ReplaceAll(m[2], " ", "")] = strings.TrimSpace(m[1])
		}
	}
	for _, in := range order {
		key := strings.ReplaceAll(strings.ToLower(in), " ", "")
		if g, ok := gas[key]; !ok {
			t.Errorf("%s: not in objdump's output", in)
		} else if g != ours[in] {
			t.Errorf("%s: ours %s, GNU as %s", in, ours[in], g)
		}
	}
	t.Logf("%d encodings match GNU as", len(order))
}
