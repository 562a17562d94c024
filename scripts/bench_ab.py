#!/usr/bin/env python3
"""A/B benchmark of two `monolith` binaries, alternated in one run so machine drift hits both alike.

For each workload, runs `--pairs` pairs (old then new, then new then old on the next pair, so neither
always goes first) and reports each binary's median and the median of the per-pair new/old ratios.
The machine varies by ±15% between identical runs; a small regression is judged on that median ratio.

Usage: python3 scripts/bench_ab.py --old /path/to/old/monolith --new .build/release/monolith [--pairs 5] [--json]
"""
import argparse
import json
import platform
import statistics
import subprocess

WORKLOADS = {
    "train tiny B8 T256": (["bench", "train", "--preset", "tiny", "--batch", "8", "--seq", "256", "--steps", "5"],
                           "tokens_per_second", "higher"),
    "train gpt2-124m B4 T256": (["bench", "train", "--preset", "gpt2-124m", "--batch", "4", "--seq", "256", "--steps", "3"],
                                "tokens_per_second", "higher"),
    "generate gpt2-124m fp32": (["bench", "generate", "--preset", "gpt2-124m", "--reps", "3", "--prompt-tokens", "32"],
                                "decode_ms_per_token", "lower"),
    "prefill gpt2-124m fp32 (32 tokens)": (["bench", "generate", "--preset", "gpt2-124m", "--reps", "3", "--new-tokens", "2",
                                            "--prompt-tokens", "32"],
                                           "prompt_ms_per_token", "lower"),
}


def cpu_name():
    try:
        for line in open("/proc/cpuinfo"):
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor()


def measure(binary, argv, key):
    out = subprocess.run([binary] + argv + ["--json"], check=True, capture_output=True, text=True).stdout
    return float(json.loads(out.strip().splitlines()[-1])[key])


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--old", required=True)
    ap.add_argument("--new", required=True)
    ap.add_argument("--pairs", type=int, default=5)
    ap.add_argument("--only", help="substring of a workload name")
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args()
    report = {"cpu": cpu_name(), "pairs": args.pairs, "workloads": {}}
    for name, (argv, key, better) in WORKLOADS.items():
        if args.only and args.only not in name:
            continue
        old, new, ratios = [], [], []
        for i in range(args.pairs):
            order = [("old", args.old), ("new", args.new)] if i % 2 == 0 else [("new", args.new), ("old", args.old)]
            got = {tag: measure(b, argv, key) for tag, b in order}
            old.append(got["old"]); new.append(got["new"])
            # Ratio > 1 means the new binary is better, whichever direction the metric runs.
            ratios.append(got["new"] / got["old"] if better == "higher" else got["old"] / got["new"])
            if not args.json:
                print(f"{name} pair {i + 1}: old {got['old']:.2f} new {got['new']:.2f} {key}", flush=True)
        report["workloads"][name] = {"metric": key, "better": better, "old": old, "new": new,
                                     "old_median": statistics.median(old), "new_median": statistics.median(new),
                                     "median_ratio_new_vs_old": statistics.median(ratios)}
        if not args.json:
            r = report["workloads"][name]
            print(f"{name}: old median {r['old_median']:.2f}, new median {r['new_median']:.2f}, "
                  f"median pair ratio (new/old, >1 better) {r['median_ratio_new_vs_old']:.3f}", flush=True)
    if args.json:
        print(json.dumps(report, indent=1))
    else:
        print(f"machine: {report['cpu']}")


if __name__ == "__main__":
    main()
