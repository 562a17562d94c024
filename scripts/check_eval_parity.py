#!/usr/bin/env python3
"""Compares a `monolith eval --log-samples` file with lm-eval's results for the same run.

    /work/venv/bin/python scripts/make_eval_fixtures.py --full --out /tmp/full      # lm-eval
    monolith eval --model Tests/Fixtures/eval/model --tasks ... --data-dir ../shared/data/eval \
        --num-fewshot 5 --json /tmp/m5.json --log-samples /tmp/m5.jsonl
    /work/venv/bin/python scripts/check_eval_parity.py /tmp/m5.jsonl /tmp/m5.json /tmp/full 5

Prints, per task: documents, requests, the largest relative log-likelihood difference, prompts and
is_greedy that differ, correct counts (acc, acc_norm) of both, and each aggregated metric and
standard error side by side, as a Markdown table. Exits 1 when a prompt differs or a
log-likelihood is off by more than 1e-4 relative.
"""
import hashlib
import json
import sys


def main():
    samples_path, results_path, fixtures, shots = sys.argv[1:5]
    samples = [json.loads(line) for line in open(samples_path)]
    results = json.load(open(results_path))["results"]
    failed = False
    print("| task | docs | requests | worst ll rel. diff | prompts differ | is_greedy differ | correct (Monolith / lm-eval) | metric: Monolith / lm-eval (± stderr) |")
    print("|---|---:|---:|---:|---:|---:|---|---|")
    for task in ["lambada_openai", "piqa", "hellaswag", "winogrande", "boolq", "arc_easy", "arc_challenge"]:
        try:
            fx = json.load(open(f"{fixtures}/{task}_{shots}shot.json"))
        except FileNotFoundError:
            continue
        mine = {s["doc_id"]: s for s in samples if s["task"] == task}
        worst, prompts, greedy, requests = 0.0, 0, 0, 0
        correct = {}
        for d in fx["documents"]:
            s = mine[d["doc_id"]]
            for i, r in enumerate(d["requests"]):
                a = s["arguments"][f"gen_args_{i}"]
                requests += 1
                if hashlib.sha256(a["arg_0"].encode()).hexdigest() != r["context_sha256"] or a["arg_1"] != r["continuation"]:
                    prompts += 1
                ll, g = float(s["filtered_resps"][i][0]), s["filtered_resps"][i][1] == "True"
                worst = max(worst, abs(ll - r["ll"]) / max(abs(r["ll"]), 1e-12))
                greedy += g != r["is_greedy"]
            for m in ("acc", "acc_norm"):
                if m in d["metrics"]:
                    mc, lc = correct.get(m, (0, 0))
                    correct[m] = (mc + s[m], lc + d["metrics"][m])
        failed |= prompts > 0 or worst > 1e-4
        counts = ", ".join(f"{m} {int(a)} / {int(b)}" for m, (a, b) in correct.items())
        metrics = []
        for key, value in fx["metrics"].items():
            if key.endswith("_stderr") or key in ("name", "sample_len"):
                continue
            ours = results[task][f"{key},none"]
            se, their_se = results[task][f"{key}_stderr,none"], fx["metrics"][f"{key}_stderr"]
            metrics.append(f"{key} {ours:.6g} / {value:.6g} (± {se:.6g} / {their_se:.6g})")
        print(f"| {task} | {len(fx['documents'])} | {requests} | {worst:.2e} | {prompts} | {greedy} | {counts} | {'; '.join(metrics)} |")
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
