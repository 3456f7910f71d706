// A real LSP client (vscode-jsonrpc + vscode-languageserver-protocol, the
// libraries VS Code's client is built on) driving `unmask serve` over pipes.
// Run by cmd/unmask/node_test.go:
//   NODE_PATH=$UNMASK_TESTDEPS/node-lsp/node_modules node lsp-client.js UNMASK MODEL_DIR
// Prints one "ok STEP" line per step; exits 1 at the first failure.
"use strict";
const cp = require("child_process");
const rpc = require("vscode-jsonrpc/node");
const lsp = require("vscode-languageserver-protocol/node");

const [bin, modelDir] = process.argv.slice(2);
const proc = cp.spawn(bin, ["serve", "--model", modelDir], { stdio: ["pipe", "pipe", "inherit"] });
const exited = new Promise((resolve) => proc.on("exit", (code) => resolve(code)));
const conn = rpc.createMessageConnection(
  new rpc.StreamMessageReader(proc.stdout),
  new rpc.StreamMessageWriter(proc.stdin),
);
const progress = [];
conn.onRequest(lsp.WorkDoneProgressCreateRequest.type, () => null);
conn.onNotification("$/progress", (p) => progress.push(p.value.kind));
conn.onNotification(lsp.LogMessageNotification.type, () => {});
conn.onError(() => {}); // the parse error's answer has id null
conn.listen();

function check(cond, msg) {
  if (!cond) throw new Error(msg);
}
async function expectError(promise, code, what) {
  try {
    const r = await promise;
    throw new Error(`${what}: answered ${JSON.stringify(r)}, want error ${code}`);
  } catch (e) {
    check(e instanceof rpc.ResponseError && e.code === code, `${what}: ${e}, want code ${code}`);
  }
}
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

async function main() {
  const init = await conn.sendRequest(lsp.InitializeRequest.type, {
    processId: process.pid, rootUri: null,
    capabilities: { window: { workDoneProgress: true }, general: { positionEncodings: ["utf-16"] } },
    initializationOptions: { unmask: { maxTokens: 4, contextTokens: 128, debounceMs: 60000 } },
  });
  check(init.capabilities.inlineCompletionProvider !== undefined, "no inlineCompletionProvider");
  check(init.capabilities.textDocumentSync.change === lsp.TextDocumentSyncKind.Incremental, "sync is not incremental");
  check(init.capabilities.positionEncoding === "utf-16", "positionEncoding " + init.capabilities.positionEncoding);
  await conn.sendNotification(lsp.InitializedNotification.type, {});
  console.log("ok initialize");

  const uri = "file:///tmp/client.ts";
  await conn.sendNotification(lsp.DidOpenTextDocumentNotification.type, {
    textDocument: { uri, languageId: "typescript", version: 1, text: "function add(a: number, b: number) {\n  \n}\n" },
  });
  await conn.sendNotification(lsp.DidChangeTextDocumentNotification.type, {
    textDocument: { uri, version: 2 },
    contentChanges: [{ range: { start: { line: 1, character: 2 }, end: { line: 1, character: 2 } }, text: "return " }],
  });
  console.log("ok open, edit");

  // Cancel by numeric id (vscode-jsonrpc's ids are numbers): the debounce
  // holds the request until the cancel arrives.
  const cts = new rpc.CancellationTokenSource();
  const pending = conn.sendRequest("textDocument/inlineCompletion",
    { textDocument: { uri }, position: { line: 1, character: 9 }, context: { triggerKind: 2 } }, cts.token);
  await sleep(50);
  cts.cancel();
  await expectError(pending, lsp.LSPErrorCodes.RequestCancelled, "cancelled inlineCompletion");
  console.log("ok cancel by numeric id");

  await conn.sendNotification(lsp.DidChangeConfigurationNotification.type, { settings: { unmask: { debounceMs: 0 } } });
  const inline = await conn.sendRequest("textDocument/inlineCompletion",
    { textDocument: { uri }, position: { line: 1, character: 9 }, context: { triggerKind: 1 } });
  check(Array.isArray(inline.items), "inline answer without items");
  for (const it of inline.items) {
    check(typeof it.insertText === "string" && it.range.start.line === 1 && it.range.start.character === 9, "inline item " + JSON.stringify(it));
  }
  console.log("ok inline completion");

  const list = await conn.sendRequest(lsp.CompletionRequest.type, { textDocument: { uri }, position: { line: 1, character: 9 } });
  check(list.isIncomplete === true, "completion list not incomplete");
  for (const it of list.items) check(it.textEdit && it.label, "completion item " + JSON.stringify(it));
  console.log("ok completion");

  const past = await conn.sendRequest("textDocument/inlineCompletion",
    { textDocument: { uri }, position: { line: 1, character: 500 }, context: { triggerKind: 1 } });
  for (const it of past.items) check(it.range.start.character === 9, "past the end: " + JSON.stringify(it));
  console.log("ok position past the end of a line");

  // Malformed JSON, written between messages.
  const bad = '{"jsonrpc":"2.0","id":99,"method":';
  proc.stdin.write(`Content-Length: ${Buffer.byteLength(bad)}\r\n\r\n${bad}`);
  await expectError(conn.sendRequest("unmask/no-such-method", {}), rpc.ErrorCodes.MethodNotFound, "unknown method");
  console.log("ok malformed JSON, unknown method");

  const big = "let x = compute(1, 2, 3); // a line of padding!!\n".repeat((50 << 20) / 50);
  await conn.sendNotification(lsp.DidOpenTextDocumentNotification.type, {
    textDocument: { uri: "file:///tmp/big.ts", languageId: "typescript", version: 1, text: big },
  });
  const n = (50 << 20) / 50;
  const bigAns = await conn.sendRequest("textDocument/inlineCompletion",
    { textDocument: { uri: "file:///tmp/big.ts" }, position: { line: n, character: 0 }, context: { triggerKind: 1 } });
  check(Array.isArray(bigAns.items), "50 MB document: " + JSON.stringify(bigAns));
  console.log("ok 50 MB document");

  const status = await conn.sendRequest("unmask/status");
  check(status.model === "ready" && status.cancelled >= 1, "status " + JSON.stringify(status));
  check(progress.includes("begin") && progress.includes("end"), "progress " + JSON.stringify(progress));
  console.log("ok status, progress");

  await conn.sendRequest(lsp.ShutdownRequest.type);
  await conn.sendNotification(lsp.ExitNotification.type);
  const code = await exited;
  check(code === 0, "exit code " + code);
  console.log("ok shutdown, exit");
}

main().then(() => process.exit(0), (e) => {
  console.error("FAIL", e.message);
  proc.kill();
  process.exit(1);
});
