// Times the npm port (@huggingface/tokenizers) encoding one file; prints
// warm and cold MB/s (wall and CPU time). Run by bench.sh.
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
// CPU time of the process in ms (includes V8's helper threads).
const cpu = () => {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1e3;
};
let cold = 0, coldCPU = 0;
for (let i = 0; i < 3; i++) {
  const fresh = new Tokenizer(json, {});
  t0 = performance.now();
  const c0 = cpu();
  fresh.encode(text, opts);
  cold += performance.now() - t0;
  coldCPU += cpu() - c0;
}
tok.encode(text, opts);
let runs = 0, warm = 0;
const start = performance.now();
const c0 = cpu();
while (performance.now() - start < secs * 1000) {
  t0 = performance.now();
  tok.encode(text, opts);
  warm += performance.now() - t0;
  runs++;
}
const warmCPU = cpu() - c0;
const mbs = (count, ms) => ((n * count) / ms / 1e3).toFixed(2);
console.log(`warm ${mbs(runs, warm)} cold ${mbs(3, cold)} warm_cpu ${mbs(runs, warmCPU)} cold_cpu ${mbs(3, coldCPU)} load_ms ${load.toFixed(0)}`);
