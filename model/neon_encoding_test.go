package model

import (
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"slices"
	"strings"
	"testing"
)

// kernels_arm64.s writes the one instruction Go's assembler lacks (FADDP,
// vector) as WORDs, each under the instruction in GNU syntax; GNU as for
// aarch64, where installed (aarch64-linux-gnu-as on other hosts), must
// encode each the same. It runs on any host: it only reads the file.
func TestNEONEncodingsMatchGNUAs(t *testing.T) {
	// A cross binutils first: under qemu-user, GOARCH is arm64 but a plain
	// "as" is the host's.
	as, objdump := "aarch64-linux-gnu-as", "aarch64-linux-gnu-objdump"
	if _, err := exec.LookPath(as); err != nil && runtime.GOARCH == "arm64" {
		as, objdump = "as", "objdump"
	}
	src, err := os.ReadFile("kernels_arm64.s")
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(string(src), "\n")
	insn := regexp.MustCompile(`^\s*// (FADDP V\d+\.4S, V\d+\.4S, V\d+\.4S)$`)
	word := regexp.MustCompile(`^\s*WORD \$0x([0-9A-F]{8})$`)
	var ins, ours []string
	for i, l := range lines {
		if strings.HasPrefix(strings.TrimSpace(l), "WORD") && (i == 0 || !insn.MatchString(lines[i-1])) {
			t.Errorf("kernels_arm64.s:%d: %q has no instruction comment above it", i+1, strings.TrimSpace(l))
		}
		if m := insn.FindStringSubmatch(l); m != nil {
			w := word.FindStringSubmatch(lines[min(i+1, len(lines)-1)])
			if w == nil {
				t.Fatalf("kernels_arm64.s:%d: %s is not followed by its WORD", i+1, m[1])
			}
			ins = append(ins, strings.ToLower(m[1]))
			ours = append(ours, strings.ToLower(w[1]))
		}
	}
	if len(ins) == 0 {
		t.Fatal("no WORD-encoded instructions found")
	}
	if _, err := exec.LookPath(as); err != nil {
		t.Skipf("no %s", as)
	}
	if _, err := exec.LookPath(objdump); err != nil {
		t.Skipf("no %s", objdump)
	}
	dir := t.TempDir()
	s, o := filepath.Join(dir, "t.s"), filepath.Join(dir, "t.o")
	if err := os.WriteFile(s, []byte(strings.Join(ins, "\n")+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if b, err := exec.Command(as, "-o", o, s).CombinedOutput(); err != nil {
		t.Skipf("%s cannot assemble aarch64 here: %v\n%s", as, err, b)
	}
	dis, err := exec.Command(objdump, "-d", o).Output()
	if err != nil {
		t.Fatal(err)
	}
	// "   0:	6e21d410 	faddp	v16.4s, v0.4s, v1.4s"
	row := regexp.MustCompile(`^\s*[0-9a-f]+:\s+([0-9a-f]{8})\s+faddp\s`)
	var gas []string
	for _, l := range strings.Split(string(dis), "\n") {
		if m := row.FindStringSubmatch(l); m != nil {
			gas = append(gas, m[1])
		}
	}
	if len(gas) != len(ins) {
		t.Fatalf("%s gave %d instructions for %d", objdump, len(gas), len(ins))
	}
	for i := range ins {
		if gas[i] != ours[i] {
			t.Errorf("%s: ours %s, GNU as %s", ins[i], ours[i], gas[i])
		}
	}
	if slices.Equal(gas, ours) {
		t.Logf("%d encodings match GNU as", len(ins))
	}
}
