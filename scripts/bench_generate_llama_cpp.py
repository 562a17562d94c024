#!/usr/bin/env python3
"""`monolith bench generate` against llama.cpp's `llama-bench` on the same GGUF file, same
machine, same thread count, one after the other: prompt processing of 512 tokens (pp512) and
decoding of 128 (tg128), both batch 1, as llama-bench defines them; plus each engine's peak
resident memory and the memory-bandwidth bound of decoding.

llama-bench reports the mean of its repetitions (-r); Monolith reports the median of its own
(--reps); both after a warm-up. Peak RSS: llama-bench's is read from the kernel when it exits
(getrusage of children, which also covers its repetitions); Monolith's is its own VmHWM before
its bandwidth test allocates a buffer.

Usage:
  python3 scripts/bench_generate_llama_cpp.py --llama-bench PATH/llama-bench \
      [--model ~/.cache/monolith/SmolLM2-135M-Instruct.Q4_1.gguf] [--monolith .build/release/monolith] \
      [--threads 2] [--reps 5] [--json OUT]

llama-bench comes with llama.cpp (the llama-cpp-python source archive builds it:
`cmake -B build vendor/llama.cpp && cmake --build build --target llama-bench`).
"""
import argparse
import json
import os
import resource
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from bench_ab import cpu_name  # noqa: E402


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--llama-bench", required=True)
    ap.add_argument("--model", default=os.path.expanduser("~/.cache/monolith/SmolLM2-135M-Instruct.Q4_1.gguf"))
    ap.add_argument("--monolith", default=os.path.join(os.path.dirname(__file__), "..", ".build", "release", "monolith"))
    ap.add_argument("--threads", type=int, default=os.cpu_count())
    ap.add_argument("--reps", type=int, default=5)
    ap.add_argument("--json")
    a = ap.parse_args()

    run = subprocess.run([a.llama_bench, "-m", a.model, "-t", str(a.threads), "-p", "512", "-n", "128", "-r", str(a.reps), "-o", "json"],
                         capture_output=True, text=True)
    if run.returncode != 0:
        sys.exit(f"llama-bench failed:\n{run.stderr[-2000:]}")
    llama_rss = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss * 1024
    rows = json.loads(run.stdout)
    pp = next(r for r in rows if r["n_prompt"] == 512)
    tg = next(r for r in rows if r["n_gen"] == 128)

    run = subprocess.run([a.monolith, "bench", "generate", "--model", a.model, "--prompt-tokens", "512", "--new-tokens", "128",
                          "--reps", str(a.reps), "--threads", str(a.threads), "--json"], capture_output=True, text=True)
    if run.returncode != 0:
        sys.exit(f"monolith bench generate failed:\n{run.stderr[-2000:]}")
    m = json.loads(run.stdout.strip().splitlines()[-1])

    bound = m["bandwidth_bound_tokens_per_second"]
    result = {
        "machine": cpu_name(), "threads": a.threads, "model": os.path.basename(a.model),
        "llama_cpp": {"build": pp.get("build_commit"), "pp512_tokens_per_second": pp["avg_ts"], "pp512_stddev": pp["stddev_ts"],
                      "tg128_tokens_per_second": tg["avg_ts"], "tg128_stddev": tg["stddev_ts"], "peak_rss_bytes": llama_rss,
                      "bandwidth_efficiency": tg["avg_ts"] / bound},
        "monolith": {"weights": m["weights"], "pp512_tokens_per_second": m["pp_tokens_per_second"],
                     "tg128_tokens_per_second": m["tg_tokens_per_second"], "peak_rss_bytes": m["peak_rss_bytes"],
                     "bandwidth_efficiency": m["bandwidth_efficiency"]},
        "weight_bytes_per_token": m["weight_bytes_per_token"], "memory_bandwidth_gb_s": m["memory_bandwidth_gb_s"],
        "bandwidth_bound_tokens_per_second": bound,
    }
    l, mo = result["llama_cpp"], result["monolith"]
    print(f"{result['model']} on {result['machine']}, {a.threads} threads")
    print(f"{'':12} {'pp512 t/s':>10} {'tg128 t/s':>10} {'peak RSS MiB':>13} {'tg / bound':>11}")
    for name, r in [("llama.cpp", l), ("Monolith", mo)]:
        print(f"{name:12} {r['pp512_tokens_per_second']:10.1f} {r['tg128_tokens_per_second']:10.1f} "
              f"{r['peak_rss_bytes'] / 2**20:13.0f} {100 * r['bandwidth_efficiency']:10.0f}%")
    print(f"Monolith / llama.cpp: pp512 {mo['pp512_tokens_per_second'] / l['pp512_tokens_per_second']:.2f}x, "
          f"tg128 {mo['tg128_tokens_per_second'] / l['tg128_tokens_per_second']:.2f}x")
    print(f"decode reads {result['weight_bytes_per_token'] / 1e6:.1f} MB/token; measured read bandwidth "
          f"{result['memory_bandwidth_gb_s']:.1f} GB/s bounds decoding at {bound:.0f} tokens/s")
    if a.json:
        with open(a.json, "w") as f:
            json.dump(result, f, indent=1)


if __name__ == "__main__":
    main()
