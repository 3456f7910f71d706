package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// TestServeNodeClient drives the built server with the node harness
// (vscode-jsonrpc + vscode-languageserver-protocol, installed by
// scripts/setup/30-lsp.sh into $UNMASK_TESTDEPS/node-lsp).
func TestServeNodeClient(t *testing.T) {
	deps := os.Getenv("UNMASK_TESTDEPS")
	if deps == "" {
		deps = "../../.testdeps"
	}
	mods, _ := filepath.Abs(filepath.Join(deps, "node-lsp", "node_modules"))
	node, err := exec.LookPath("node")
	if _, serr := os.Stat(filepath.Join(mods, "vscode-languageserver-protocol")); err != nil || serr != nil {
		if os.Getenv("UNMASK_REQUIRE_TESTDEPS") == "1" {
			t.Fatalf("node or %s missing (run scripts/setup/30-lsp.sh)", mods)
		}
		t.Skipf("node or %s missing (run scripts/setup/30-lsp.sh)", mods)
	}
	bin := buildBinary(t)
	cmd := exec.Command(node, "../../scripts/e2e/lsp-client.js", bin, tinyModel(t))
	cmd.Env = append(os.Environ(), "NODE_PATH="+mods)
	out, err := cmd.CombinedOutput()
	t.Logf("node client:\n%s", out)
	if err != nil {
		t.Fatalf("node client: %v", err)
	}
	if !strings.Contains(string(out), "ok shutdown, exit") {
		t.Errorf("node client did not finish")
	}
}
