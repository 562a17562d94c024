#!/usr/bin/env python3
"""Encode throughput side by side: tiktoken r50k_base vs `monolith bench encode`, same file and
thread count, on the same machine in the same run (rounds interleaved; medians reported).

tiktoken encodes one string on one thread; for K > 1 threads the file is split at newlines into K
pieces encoded with encode_batch(num_threads=K). Both sides treat "<|endoftext|>" as special
(allowed_special="all"). Monolith's runs each start with empty word caches, as tiktoken's do.

On a machine whose cores are busy with other jobs, wall-clock MB/s cannot show multi-thread
scaling (check the tiktoken column: its K-thread batch is then no faster). The script therefore
also prints Monolith's CPU-time scaling: 1-thread CPU time per run divided by the CPU time of the
busiest thread at K threads, which is the wall-clock speed-up the same split gives on free cores.

Default file: the five prose texts (2.75 MB) named in docs/tokenizer.md, written to a temp file.

Usage: python3 scripts/bench_encode_tiktoken.py [--file F] [--threads 1,2] [--runs 5] [--rounds 3]
Needs: pip install tiktoken, and a release build of monolith.
"""
import argparse
import json
import os
import statistics
import subprocess
import tempfile
import time

import tiktoken
from tiktoken.load import load_tiktoken_bpe

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
PATTERN = r"""'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+"""
PROSE = ["austen-emma", "austen-sense", "austen-persuasion", "chesterton-brown", "chesterton-thursday"]


def default_binary():
    for p in [".build-tok/release/monolith", ".build/release/monolith"]:
        if os.path.exists(os.path.join(ROOT, p)):
            return os.path.join(ROOT, p)
    return os.path.join(ROOT, ".build/release/monolith")


def split_at_newlines(text, k):
    pieces, start = [], 0
    for i in range(1, k):
        cut = text.find("\n", len(text) * i // k)
        cut = len(text) if cut < 0 else cut + 1
        pieces.append(text[start:cut])
        start = cut
    pieces.append(text[start:])
    return pieces


def tiktoken_mbps(enc, text, threads, runs):
    n = len(text.encode("utf-8"))
    pieces = split_at_newlines(text, threads)
    times = []
    for i in range(runs + 1):
        t0 = time.perf_counter()
        if threads == 1:
            enc.encode(text, allowed_special="all")
        else:
            enc.encode_batch(pieces, num_threads=threads, allowed_special="all")
        if i > 0:
            times.append(time.perf_counter() - t0)
    return n / statistics.median(times) / 1e6


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--monolith", default=default_binary())
    ap.add_argument("--data", default=os.path.join(ROOT, "..", "shared", "data"))
    ap.add_argument("--tokenizer", default=None, help="tokenizer directory for monolith (default: shared gpt2-tokenizer)")
    ap.add_argument("--file", default=None)
    ap.add_argument("--threads", default="1,2")
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--rounds", type=int, default=3)
    args = ap.parse_args()
    tokdir = args.tokenizer or os.path.join(args.data, "gpt2-tokenizer")
    path = args.file
    if path is None:
        path = os.path.join(tempfile.mkdtemp(), "prose.txt")
        with open(path, "wb") as f:
            for name in PROSE:
                f.write(open(os.path.join(args.data, "gutenberg", name + ".txt"), "rb").read())
    text = open(path, encoding="utf-8").read()
    ranks = load_tiktoken_bpe(os.path.join(args.data, "gpt2-tokenizer", "r50k_base.tiktoken"))
    enc = tiktoken.Encoding(name="r50k_base", pat_str=PATTERN, mergeable_ranks=ranks,
                            special_tokens={"<|endoftext|>": 50256}, explicit_n_vocab=50257)
    print(f"{path}: {len(text.encode('utf-8'))} bytes, tiktoken {tiktoken.__version__}")
    busiest = {}
    for threads in [int(t) for t in args.threads.split(",")]:
        tk, mine, cpu = [], [], []
        for _ in range(args.rounds):
            tk.append(tiktoken_mbps(enc, text, threads, args.runs))
            r = subprocess.run([args.monolith, "bench", "encode", "--tokenizer", tokdir, "--file", path,
                                "--threads", str(threads), "--runs", str(args.runs), "--json"],
                               capture_output=True, text=True, check=True)
            result = json.loads(r.stdout)
            mine.append(result["mb_per_second"])
            cpu.append(statistics.median(result["busiest_thread_cpu_seconds"]))
        t, m = statistics.median(tk), statistics.median(mine)
        busiest[threads] = statistics.median(cpu)
        print(f"threads {threads}: tiktoken {t:.1f} MB/s, monolith {m:.1f} MB/s -> ratio {m / t:.2f}x"
              f"   (rounds: tiktoken {[round(x, 1) for x in tk]}, monolith {[round(x, 1) for x in mine]})")
    if 1 in busiest:
        for threads, c in sorted(busiest.items()):
            if threads > 1:
                print(f"monolith CPU-time scaling, {threads} threads: busiest thread {1000 * c:.1f} ms per run vs "
                      f"{1000 * busiest[1]:.1f} ms on 1 thread -> {busiest[1] / c:.2f}x on free cores")


if __name__ == "__main__":
    main()
