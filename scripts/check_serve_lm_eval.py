#!/usr/bin/env python3
"""lm-evaluation-harness scoring through `monolith serve` equals `monolith eval`.

Runs `monolith eval` on the eval fixture model (Tests/Fixtures/eval/model) and the shared samples
(../shared/data/eval), then starts `monolith serve` on the same model and runs lm-eval (v0.4.x) with
its `local-completions` model against it: every log-likelihood request becomes a /v1/completions
call with token-id prompts and `max_tokens: 1, logprobs: 1, echo: true`, scored from the echoed
prompt's `token_logprobs` and `top_logprobs`. Checks, per task (zero-shot, --limit documents):

- accuracy metrics equal, perplexity and standard errors within 1e-4 relative;
- every request's log-likelihood within 1e-4 absolute and the same is_greedy, matched by
  (doc_id, choice index) after checking both sides scored the same context and continuation.

lm-eval's API model sends at most max_length - 1 = 255 tokens (the server must hold one generated
token in the model's 256 positions) where `monolith eval`, like lm-eval's `hf` model, reads 256:
requests longer than 255 tokens are scored on different windows. Those are reported apart, checked
against transformers on the window the server was sent, and documents holding one are left out of
the per-document metric comparison (the task metric must then differ by those documents alone).

Every response must also echo the prompt plus exactly one generated token: lm-eval sums
token_logprobs[ctxlen:-1], so a response without the generated token (the server stopping on an
end-of-text token without reporting it) silently loses the continuation's last token.

Writes Tests/Fixtures/serve/lm_eval_local_completions.json: lm-eval's version, both sides' metrics,
the largest differences, and each task's first requests (context, continuation, their token
counts, tokens lm-eval cut from the left, the log-likelihood and is_greedy through the server) for
replaying against the server. Takes about 3 minutes on 2 cores with the default --limit 100.

    HF_HUB_OFFLINE=1 HF_DATASETS_OFFLINE=1 /work/venv/bin/python scripts/check_serve_lm_eval.py \\
        [--monolith .build/release/monolith] [--limit 100] [--tasks piqa,boolq] [--batch-size 1]

Exits 1 when a check fails.
"""
import argparse
import functools
import json
import logging
import math
import os
import shutil
import subprocess
import sys
import tempfile
import time

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("HF_DATASETS_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
os.environ.setdefault("DISABLE_MULTIPROC", "1")  # lm-eval's bootstrap in this process, as make_eval_fixtures.py
os.environ.setdefault("TQDM_DISABLE", "1")

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from serve_process import start, stop  # noqa: E402
from make_eval_fixtures import MODEL, REPO, SHARED, TASK_DIR, TASKS, prepare_shared_data  # noqa: E402

OUT = os.path.join(REPO, "Tests", "Fixtures", "serve", "lm_eval_local_completions.json")
LL_TOL, REL_TOL, KEEP = 1e-4, 1e-4, 20
with open(os.path.join(MODEL, "config.json")) as _f:
    MAX_LENGTH = json.load(_f)["n_positions"]  # lm-eval's max_length: the model's context (256)


def start_server(binary, threads, max_batch):
    return start(binary, MODEL, ["--served-model-name", "eval-model", "--max-batch", str(max_batch), "--threads", str(threads)])


def monolith_eval(binary, tasks, limit, threads, tmp):
    out, samples = os.path.join(tmp, "monolith.json"), os.path.join(tmp, "monolith.jsonl")
    p = subprocess.run([binary, "eval", "--model", MODEL, "--tasks", ",".join(tasks), "--data-dir", SHARED,
                        "--limit", str(limit), "--json", out, "--log-samples", samples, "--no-cache", "--no-progress",
                        "--threads", str(threads)], capture_output=True, text=True)
    if p.returncode != 0:
        sys.exit(f"monolith eval failed ({p.returncode}): {p.stderr[-2000:]}")
    with open(out) as f:
        results = json.load(f)["results"]
    docs = {}
    for line in open(samples):
        s = json.loads(line)
        args = [(a["arg_0"], a["arg_1"]) for a in s["arguments"].values()]
        lls = [(float(r[0][0]), r[0][1] == "True") for r in s["resps"]]
        docs[s["task"], s["doc_id"]] = {"args": args, "resps": lls, "metrics": {m: s[m] for m in s["metrics"]}}
    return results, docs


def lm_eval_through_server(port, tasks, limit, batch_size):
    """lm-eval's results, its samples as {(task, doc_id): ...}, and what the server answered per token window."""
    import datasets
    import lm_eval
    from lm_eval.api.registry import get_model
    from lm_eval.tasks import TaskManager

    datasets.disable_progress_bars()
    logging.getLogger("lm_eval").setLevel(logging.ERROR)

    lm = get_model("local-completions").create_from_arg_string(
        f"model=eval-model,base_url=http://127.0.0.1:{port}/v1/completions,tokenizer_backend=huggingface,"
        f"tokenizer={MODEL},tokenized_requests=True,num_concurrent=1,max_retries=1,max_length={MAX_LENGTH},"
        f"batch_size={batch_size}")
    answers, model_call = {}, lm.model_call

    def recording_call(messages, **kwargs):  # the prompts as sent, and each one's choice in the response
        out = model_call(messages=messages, **kwargs)
        for choice in sorted(out["choices"], key=lambda c: c["index"]):
            answers[tuple(messages[choice["index"]])] = choice
        return out

    lm.model_call = recording_call
    results = lm_eval.simple_evaluate(model=lm, tasks=tasks, num_fewshot=0, limit=limit, log_samples=True,
                                      task_manager=TaskManager(include_path=TASK_DIR, include_defaults=False),
                                      random_seed=0, numpy_random_seed=1234, torch_random_seed=1234,
                                      fewshot_random_seed=1234, bootstrap_iters=100000)
    docs = {}
    for task in tasks:
        for s in results["samples"][task]:
            docs[task, s["doc_id"]] = {"args": [tuple(a[:2]) for a in s["arguments"]],
                                       "resps": [(float(r[0][0]), bool(r[0][1])) for r in s["resps"]],
                                       "metrics": {m: s[m] for m in s["metrics"]}}
    return lm, results, docs, answers


def window(lm, context, continuation):
    """The tokens lm-eval sends for a request, its context length in them, and whether it cut the left."""
    ctx, cont = lm._encode_pair(context, continuation)
    whole = ctx + cont
    sent = whole[-lm.max_length:]
    return sent, len(ctx) - (len(whole) - len(sent)), len(sent) < len(whole), len(ctx), len(cont)


@functools.cache
def transformers_model():
    import torch
    from transformers import AutoModelForCausalLM

    return AutoModelForCausalLM.from_pretrained(MODEL, dtype=torch.float32).eval()


def transformers_ll(tokens, ctxlen):
    """The continuation's log-likelihood in transformers (fp32), on exactly the tokens lm-eval sent."""
    import torch

    with torch.no_grad():
        logp = torch.log_softmax(transformers_model()(torch.tensor([tokens])).logits[0].double(), -1)
    return float(sum(logp[i - 1, tokens[i]] for i in range(ctxlen, len(tokens))))


def metric_values(res):
    return {k.split(",")[0]: v for k, v in res.items() if "," in k and isinstance(v, (int, float))}


def close(name, a, b):
    if name in ("acc", "acc_norm"):
        return a == b
    return a == b or abs(a - b) <= REL_TOL * max(abs(a), abs(b))


def same_doc_metrics(a, b):  # 0/1 accuracies exactly, a document's log-likelihood (perplexity) within LL_TOL
    return a.keys() == b.keys() and all(abs(a[k] - b[k]) <= LL_TOL for k in a)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--monolith", default=".build/release/monolith")
    ap.add_argument("--tasks", default=",".join(TASKS))
    ap.add_argument("--limit", type=int, default=100)
    ap.add_argument("--batch-size", type=int, default=1, help="prompts per request (lm-eval's batch_size)")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--out", default=OUT)
    a = ap.parse_args()
    binary, tasks = os.path.abspath(a.monolith), a.tasks.split(",")
    t0, failures = time.time(), []
    tmp = tempfile.mkdtemp(prefix="serve_lm_eval_")
    cwd = os.getcwd()
    try:
        ref_results, ref_docs = monolith_eval(binary, tasks, a.limit, a.threads, tmp)
        t_eval = time.time() - t0
        prepare_shared_data(tmp)
        os.chdir(tmp)  # the task YAMLs name their data files relative to here
        proc, port = start_server(binary, a.threads, max(4, a.batch_size))
        try:
            lm, results, docs, answers = lm_eval_through_server(port, tasks, a.limit, a.batch_size)
        finally:
            rc = stop(proc)
            os.chdir(cwd)
        if rc != 0:
            failures.append(f"the server exited with {rc} on SIGINT")
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    t_serve = time.time() - t0 - t_eval

    import lm_eval
    fixture = {"lm_eval_version": lm_eval.__version__, "model": os.path.relpath(MODEL, REPO), "limit": a.limit,
               "num_fewshot": 0, "lm_eval_model": "local-completions", "max_length": MAX_LENGTH, "tolerances": {
                   "loglikelihood_abs": LL_TOL, "metric_rel": REL_TOL, "accuracy": "exact"}, "tasks": {}}
    print(f"\n{'task':<15}{'metric':<16}{'through serve':>16}{'monolith eval':>16}{'max |Δll|':>11}{'requests':>10}{'cut':>5}")
    for task in tasks:
        keys = sorted(k for k in docs if k[0] == task)
        if sorted(k for k in ref_docs if k[0] == task) != keys:
            failures.append(f"{task}: the two sides evaluated different documents")
        max_diff, n_requests, cut, cut_docs, first = 0.0, 0, [], set(), []
        for key in keys:
            d, r = docs[key], ref_docs[key]
            if d["args"] != r["args"]:
                failures.append(f"{task} doc {key[1]}: different requests {d['args']!r} vs {r['args']!r}")
                continue
            for i, ((context, continuation), (ll, greedy), (ref_ll, ref_greedy)) in enumerate(zip(d["args"], d["resps"], r["resps"])):
                n_requests += 1
                sent, ctxlen, truncated, n_ctx, n_cont = window(lm, context, continuation)
                if len(first) < KEEP:
                    first.append({"doc_id": key[1], "choice": i, "context": context, "continuation": continuation,
                                  "context_tokens": n_ctx, "continuation_tokens": n_cont,
                                  "cut_tokens": n_ctx + n_cont - len(sent), "ll": ll, "is_greedy": greedy})
                if truncated:  # a different window from monolith eval's: check the server against transformers on it
                    hf = transformers_ll(sent, ctxlen)
                    cut.append({"doc_id": key[1], "choice": i, "tokens": n_ctx + n_cont, "ll": ll, "monolith_eval_ll": ref_ll,
                                "transformers_ll_same_window": hf})
                    cut_docs.add(key[1])
                    if abs(ll - hf) > LL_TOL:
                        failures.append(f"{task} doc {key[1]} choice {i}: cut to {len(sent)} tokens, {ll} vs transformers {hf}")
                    continue
                max_diff = max(max_diff, abs(ll - ref_ll))
                if abs(ll - ref_ll) > LL_TOL or greedy != ref_greedy:
                    choice = answers.get(tuple(sent), {})
                    lp = choice.get("logprobs") or {}
                    failures.append(f"{task} doc {key[1]} choice {i}: ll {ll} greedy {greedy} vs monolith eval {ref_ll} {ref_greedy}; "
                                    f"{len(sent)} tokens sent, context {ctxlen}; response has {len(lp.get('token_logprobs', []))} "
                                    f"token_logprobs, finish_reason {choice.get('finish_reason')!r}, tail tokens "
                                    f"{lp.get('tokens', [])[-3:]!r} logprobs {lp.get('token_logprobs', [])[-3:]!r}")
            if key[1] not in cut_docs and not same_doc_metrics(d["metrics"], r["metrics"]):
                failures.append(f"{task} doc {key[1]}: metrics {d['metrics']} vs monolith eval {r['metrics']}")
        ours, ref = metric_values(results["results"][task]), metric_values(ref_results[task])
        for name in sorted(set(ours) | set(ref)):
            ok = name in ours and name in ref and close(name, ours[name], ref[name])
            if not ok and not cut_docs:
                failures.append(f"{task} {name}: {ours.get(name)} through serve vs {ref.get(name)} from monolith eval")
            if "stderr" not in name:
                print(f"{task:<15}{name:<16}{ours.get(name, math.nan):>16.6f}{ref.get(name, math.nan):>16.6f}"
                      f"{max_diff:>11.2e}{n_requests:>10}{len(cut):>5}{'' if ok else '  differs (cut documents)'}")
        fixture["tasks"][task] = {"serve_metrics": ours, "monolith_eval_metrics": ref, "requests": n_requests,
                                  "max_abs_ll_diff": max_diff, "cut_requests": cut, "first_requests": first}
    # lm-eval scores token_logprobs[ctxlen:-1]: the echoed prompt, then exactly one generated token.
    short = [(len(k), c) for k, c in answers.items() if len(c["logprobs"]["token_logprobs"]) != len(k) + 1]
    for n, c in short[:5]:
        failures.append(f"a {n}-token prompt got {len(c['logprobs']['token_logprobs'])} token_logprobs (finish_reason "
                        f"{c['finish_reason']!r}): lm-eval's [ctxlen:-1] then drops the continuation's last token")
    fixture["served_prompts"], fixture["responses_without_generated_token"] = len(answers), len(short)
    print(f"\nmonolith eval {t_eval:.0f} s, lm-eval through monolith serve {t_serve:.0f} s, {len(answers)} prompts served")
    os.makedirs(os.path.dirname(a.out), exist_ok=True)
    with open(a.out, "w") as f:
        json.dump(fixture, f, ensure_ascii=False, indent=1)
        f.write("\n")
    print(f"wrote {os.path.relpath(a.out)} ({os.path.getsize(a.out) // 1024} KB)")
    for failure in failures:
        print("FAIL:", failure)
    print(f"serve lm-eval: {'FAILED' if failures else 'ok'}")
    sys.exit(1 if failures else 0)


if __name__ == "__main__":
    main()
