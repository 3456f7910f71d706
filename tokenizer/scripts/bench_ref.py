#!/usr/bin/env python3
"""Times the Rust reference (Hugging Face tokenizers via Python) encoding one
file on one thread; prints warm and cold MB/s (wall and CPU time). Run by bench.sh.

usage: bench_ref.py TOKENIZER_JSON FILE [SECONDS]
"""
import os, sys, time

os.environ["RAYON_NUM_THREADS"] = "1"
os.environ["TOKENIZERS_PARALLELISM"] = "false"
from tokenizers import Tokenizer  # noqa: E402


def main():
    path, file = sys.argv[1], sys.argv[2]
    secs = float(sys.argv[3]) if len(sys.argv) > 3 else 2.0
    text = open(file, "rb").read().decode("utf-8")
    n = len(text.encode("utf-8"))
    t0 = time.perf_counter()
    tok = Tokenizer.from_file(path)
    load = time.perf_counter() - t0
    # Cold: a fresh tokenizer each time, so the word cache starts empty.
    cold, cold_cpu = [], 0.0
    for _ in range(3):
        fresh = Tokenizer.from_file(path)
        t0, c0 = time.perf_counter(), time.process_time()
        fresh.encode(text, add_special_tokens=False)
        cold.append(time.perf_counter() - t0)
        cold_cpu += time.process_time() - c0
    tok.encode(text, add_special_tokens=False)  # warm the cache
    runs, start, c0 = [], time.perf_counter(), time.process_time()
    while time.perf_counter() - start < secs:
        t0 = time.perf_counter()
        tok.encode(text, add_special_tokens=False)
        runs.append(time.perf_counter() - t0)
    warm_cpu = time.process_time() - c0
    # Wall: total bytes over total time, as go test -bench reports; CPU:
    # process CPU time, which a busy machine disturbs less.
    print("warm %.2f cold %.2f warm_cpu %.2f cold_cpu %.2f load_ms %.0f" % (
        n * len(runs) / sum(runs) / 1e6, n * len(cold) / sum(cold) / 1e6,
        n * len(runs) / warm_cpu / 1e6, n * len(cold) / cold_cpu / 1e6, load * 1e3))


main()
