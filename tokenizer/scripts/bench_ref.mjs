// Times the npm port (@huggingface/tokenizers) encoding one file; prints
// warm and cold MB/s. Run by bench.sh.
// usage: node bench_ref.mjs TOKENIZERS_MJS TOKENIZER_JSON FILE [SECONDS]
import { readFileSync } from "node:fs";
import { performance } from "node:perf_hooks";

const [lib, path, file, secsArg] = process.argv.slice(2);
const { Tokenizer } = await import(lib);
const secs = Number(secsArg ?? 2);
const json = JSON.parse(readFileSync(path, "utf8"));
const text = readFileSync(file, "utf8");
const n = Buffer.byteLength(text, "utf8");
const opts = { add_special_tokens: false };
let t0 = performance.now();
const tok = new Tokenizer(json, {});
const load = performance.now() - t0;
let cold = Infinity;
for (let i = 0; i < 3; i++) {
  const fresh = new Tokenizer(json, {});
  t0 = performance.now();
  fresh.encode(text, opts);
  cold = Math.min(cold, performance.now() - t0);
}
tok.encode(text, opts);
const runs = [];
const start = performance.now();
while (performance.now() - start < secs * 1000) {
  t0 = performance.now();
  tok.encode(text, opts);
  runs.push(performance.now() - t0);
}
runs.sort((a, b) => a - b);
const med = runs[Math.floor(runs.length / 2)];
console.log(`warm ${(n / med / 1e3).toFixed(2)} cold ${(n / cold / 1e3).toFixed(2)} load_ms ${load.toFixed(0)}`);
