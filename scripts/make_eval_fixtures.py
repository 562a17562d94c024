#!/usr/bin/env python3
"""Reference fixtures for `monolith eval`, from lm-evaluation-harness itself (v0.4.x).

Runs lm-eval's `hf` model (transformers, fp32, offline) on the committed eval model
(Tests/Fixtures/eval/model, made by scripts/make_eval_model.py) and writes, under
Tests/Fixtures/eval/:

- lm_eval/<task>_<k>shot.json for the seven tasks, zero- and 5-shot, on the shared samples
  (../shared/data/eval) through the committed task YAMLs in scripts/lm_eval_tasks/: every
  request's context (SHA-256, and in full for the first documents) and continuation, its
  log-likelihood and is_greedy, the per-document metrics, and the task's aggregated metrics and
  standard errors as lm-eval reports them;
- hf_layouts/<task>_<k>shot.json: the same for lm-eval's own built-in task YAMLs pointed at the
  small hand-written documents in hf_layouts/*.jsonl (Hugging Face layouts), zero- and 2-shot,
  with every context in full;
- python_random.json: CPython's random.Random draws (random, getrandbits, sample, choices) for
  the Mersenne Twister port;
- lm_eval/table_0shot.md: lm-eval's printed results table.

    HF_HUB_OFFLINE=1 /work/venv/bin/python scripts/make_eval_fixtures.py [--limit 50] [--full]

--full evaluates all 300 documents per task and writes nothing but lm_eval_full/ (for the
parity report in docs/eval.md; not committed). Formats lm-eval cannot read directly are converted
to JSONL in a temporary directory first: PIQA's records + .lst labels are joined, llama.cpp's
6-line HellaSwag becomes {ctx, label, endings}.
"""
import argparse
import hashlib
import json
import os
import random
import shutil
import sys
import tempfile
import time

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("HF_DATASETS_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
# One process for lm-eval's bootstrap: same draws as its multiprocessing path (chunk i seeds
# Random(i) either way), without forking a process that holds torch.
os.environ.setdefault("DISABLE_MULTIPROC", "1")

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SHARED = os.path.join(os.path.dirname(REPO), "shared", "data", "eval")
FIXTURES = os.path.join(REPO, "Tests", "Fixtures", "eval")
MODEL = os.path.join(FIXTURES, "model")
TASK_DIR = os.path.join(REPO, "scripts", "lm_eval_tasks")
TASKS = ["lambada_openai", "piqa", "hellaswag", "winogrande", "boolq", "arc_easy", "arc_challenge"]
FULL_CONTEXTS = 3  # documents per fixture whose contexts are stored in full


def sha256(text):
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def prepare_shared_data(tmp):
    """The shared samples as lm-eval's json loader reads them, in `tmp`."""
    for name in os.listdir(SHARED):
        if name.endswith(".jsonl"):
            shutil.copyfile(os.path.join(SHARED, name), os.path.join(tmp, name))
    with open(os.path.join(SHARED, "piqa_valid.sample.jsonl")) as f:
        records = [json.loads(line) for line in f if line.strip()]
    with open(os.path.join(SHARED, "piqa_valid-labels.sample.lst")) as f:
        labels = [int(line) for line in f if line.strip()]
    assert len(records) == len(labels)
    with open(os.path.join(tmp, "piqa_valid.sample.labeled.jsonl"), "w") as f:
        for r, label in zip(records, labels):
            f.write(json.dumps({**r, "label": label}, ensure_ascii=False) + "\n")
    with open(os.path.join(SHARED, "hellaswag_val.sample.txt")) as f:
        lines = f.read().split("\n")
    if lines and lines[-1] == "":
        lines.pop()
    assert len(lines) % 6 == 0
    with open(os.path.join(tmp, "hellaswag_val.sample.jsonl"), "w") as f:
        for k in range(0, len(lines), 6):
            doc = {"ctx": lines[k], "label": int(lines[k + 1]), "endings": lines[k + 2:k + 6]}
            f.write(json.dumps(doc, ensure_ascii=False) + "\n")


class _Function(str):
    """A `!function module.name` tag of a task YAML, kept as written."""


class _FunctionLoader(__import__("yaml").SafeLoader):
    pass


class _FunctionDumper(__import__("yaml").SafeDumper):
    pass


_FunctionLoader.add_constructor("!function", lambda loader, node: _Function(loader.construct_scalar(node)))
_FunctionDumper.add_representer(_Function, lambda dumper, data: dumper.represent_scalar("!function", str(data)))


def builtin_task_dir(tmp):
    """lm-eval's own task YAMLs, copied with their utils and pointed at hf_layouts/*.jsonl."""
    import yaml
    import lm_eval

    tasks_root = os.path.join(os.path.dirname(lm_eval.__file__), "tasks")
    sources = {
        "lambada_openai": "lambada/lambada_openai.yaml", "piqa": "piqa/piqa.yaml",
        "hellaswag": "hellaswag/hellaswag.yaml", "winogrande": "winogrande/default.yaml",
        "boolq": "super_glue/boolq/default.yaml", "arc_easy": "arc/arc_easy.yaml",
    }
    out = os.path.join(tmp, "builtin")
    for task, rel in sources.items():
        src = os.path.join(tasks_root, rel)
        dst = os.path.join(out, task)
        shutil.copytree(os.path.dirname(src), dst, ignore=shutil.ignore_patterns("__pycache__", "*.yaml"))
        with open(src) as f:
            cfg = yaml.load(f, Loader=_FunctionLoader)
        # Only the data source changes: lm-eval's prompts, functions and metrics stay as shipped.
        for key in ("tag", "training_split", "validation_split"):
            cfg.pop(key, None)
        cfg.update(dataset_path="json", dataset_name=None, test_split="test", fewshot_split="test",
                   dataset_kwargs={"data_files": {"test": os.path.join(FIXTURES, "hf_layouts", task + ".jsonl")}})
        with open(os.path.join(dst, task + ".yaml"), "w") as f:
            yaml.dump(cfg, f, Dumper=_FunctionDumper, sort_keys=False, allow_unicode=True)
    return out


def run(tasks, include_path, num_fewshot, limit, batch_size):
    import lm_eval
    from lm_eval.tasks import TaskManager

    manager = TaskManager(include_path=include_path, include_defaults=False)
    return lm_eval.simple_evaluate(
        model="hf", model_args=f"pretrained={MODEL},dtype=float32", tasks=tasks, num_fewshot=num_fewshot,
        limit=limit, batch_size=batch_size, log_samples=True, task_manager=manager, fewshot_random_seed=1234,
        random_seed=0, numpy_random_seed=1234, torch_random_seed=1234, bootstrap_iters=100000, device="cpu")


def task_fixture(results, task, num_fewshot, limit, full_contexts):
    res = results["results"][task]
    metrics = {k.split(",")[0]: v for k, v in res.items() if k != "alias"}
    docs = []
    for s in sorted(results["samples"][task], key=lambda s: s["doc_id"]):
        requests = []
        for args, resp in zip(s["arguments"], s["resps"]):
            context, continuation = args[0], args[1]
            ll, greedy = resp[0]
            entry = {"context_sha256": sha256(context), "continuation": continuation, "ll": float(ll), "is_greedy": bool(greedy)}
            if full_contexts is None or s["doc_id"] < full_contexts:
                entry["context"] = context
            requests.append(entry)
        docs.append({"doc_id": s["doc_id"], "requests": requests, "target": s["target"],
                     "doc_hash": s["doc_hash"], "prompt_hash": s["prompt_hash"], "target_hash": s["target_hash"],
                     "metrics": {m: s[m] for m in s["metrics"]}})
    return {"task": task, "num_fewshot": num_fewshot, "limit": limit, "fewshot_seed": 1234, "bootstrap_iters": 100000,
            "version": results["versions"][task], "n_samples": results["n-samples"][task],
            "higher_is_better": results["higher_is_better"][task],
            "metrics": metrics, "documents": docs}


def write(path, obj):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "w") as f:
        json.dump(obj, f, ensure_ascii=False, indent=1)
        f.write("\n")
    print(f"wrote {os.path.relpath(path, REPO)} ({os.path.getsize(path) // 1024} KB)")


def python_random_fixture():
    """CPython's Mersenne Twister draws, for MersenneTwister/PythonRandom in Swift."""
    out = {"python": sys.version.split()[0], "seeds": []}
    for seed in [0, 1, 42, 1234, 2**32 - 1, 2**32, 2**40 + 5, -1234, 2**63 - 1]:
        r = random.Random(seed)
        randoms = [r.random() for _ in range(5)]
        r = random.Random(seed)
        bits = [[k, str(r.getrandbits(k))] for k in [1, 5, 8, 13, 31, 32, 33, 40, 64, 0, 17]]
        out["seeds"].append({"seed": seed, "random": randoms, "getrandbits": bits})
    samples = []
    # (population, k): both of random.sample's branches (pool list for small populations, a set
    # of chosen indices for large ones), and k = 1 (lm-eval's 0-shot draws nothing).
    for seed, n, k in [(1234, 300, 6), (1234, 300, 2), (1234, 5, 3), (1234, 21, 6), (7, 85, 6), (7, 86, 6), (7, 100, 30),
                       (99, 22, 2), (0, 1, 1), (3, 1000, 11), (1234, 6, 6)]:
        r = random.Random(seed)
        first = r.sample(range(n), k)
        second = r.sample(list(range(n)), k)
        samples.append({"seed": seed, "n": n, "k": k, "draws": [first, second]})
    out["samples"] = samples
    choices = []
    for seed, n, k in [(0, 300, 300), (5, 17, 40), (99, 1, 3)]:
        r = random.Random(seed)
        choices.append({"seed": seed, "n": n, "k": k, "draws": [int(x) for x in r.choices(range(n), k=k)]})
    out["choices"] = choices
    return out


def python_text_fixture():
    """Python's string behaviour that prompts depend on, and lm-eval's HellaSwag `preprocess`."""
    from lm_eval.tasks.hellaswag.utils import preprocess

    texts = [" [header] How to plant tulips [title] Choose a spot. [step] Dig  a hole.  ", "a [b\nc] d [e] f",
             "A  B   C    D", "[title] x", "x [title]", "nested [a [b] c] d", "[unclosed", "caf\u00e9  [x]  \u00e9",
             "\u2003 wide\u3000space\u00a0", "a]b[c", "[a][b] [c]  d", "  ", ""]
    capitalize = ["he Sees the NBA", "\u00c9COLE normale", "\u01c6emal", "\u00dfe", "", "1abc DEF", "\ufb01sh", "\u0130stanbul"]
    floats = [0.1, 1.0, -2.5, 1e-05, 0.0001, 123456789.0, 1e16, 9.9e15, 1.2345678901234567e-7, 3151849.029729243,
              -13.857006072998047, 0.20000000000000004, 5e-324, 1.7976931348623157e308, 100.0, 1e22, 0.5]
    records = ['{"a": 1, "b": [1.5, "x\\n\\u00e9"], "c": {"d": null, "e": true}, "f": 1e-7, "g": "\\u2028/"}',
               '{"query": "Q: \\"q\\"\\tz", "choices": [], "gold": 0, "n": -0.0}']
    hashed = ["", "abc", "Question: x\nAnswer:", "\u00e9" * 100, "a" * 55, "a" * 56, "a" * 64, "a" * 119]
    return {
        "preprocess": [[t, preprocess(t)] for t in texts],
        "capitalize": [[t, t.capitalize()] for t in capitalize],
        "whitespace": [c for c in range(0x110000) if chr(c).isspace()],
        "rstrip": [[t, t.rstrip(), t.strip(), t.split(" ")] for t in texts],
        "float_repr": [[x.hex(), repr(x)] for x in floats],
        "json": [[r, json.dumps(json.loads(r), ensure_ascii=False), json.dumps(json.loads(r), indent=2, ensure_ascii=False)]
                 for r in records],
        "sha256": [[t, sha256(t)] for t in hashed],
    }


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--limit", type=int, default=50, help="documents per task in the committed fixtures")
    ap.add_argument("--full", action="store_true", help="all 300 documents, written to a scratch directory")
    ap.add_argument("--out", default=None, help="where --full writes (default /tmp/monolith_eval_full)")
    ap.add_argument("--batch-size", type=int, default=8)
    ap.add_argument("--shots", default="0,5")
    ap.add_argument("--hf-layouts-only", action="store_true", help="only the hf_layouts fixtures (and the Python ones)")
    args = ap.parse_args()

    import torch
    torch.set_num_threads(int(os.environ.get("THREADS", "2")))
    tmp = tempfile.mkdtemp(prefix="lm_eval_fixtures_")
    prepare_shared_data(tmp)
    cwd = os.getcwd()
    os.chdir(tmp)  # the task YAMLs name their data files relative to here
    try:
        shots = [int(x) for x in args.shots.split(",")]
        if args.full:
            out = args.out or "/tmp/monolith_eval_full"
            for k in shots:
                t0 = time.time()
                results = run(TASKS, TASK_DIR, k, None, args.batch_size)
                seconds = time.time() - t0
                for task in TASKS:
                    write(os.path.join(out, f"{task}_{k}shot.json"), task_fixture(results, task, k, None, 0))
                write(os.path.join(out, f"timing_{k}shot.json"), {"seconds": seconds, "tasks": TASKS})
            return
        write(os.path.join(FIXTURES, "python_random.json"), python_random_fixture())
        write(os.path.join(FIXTURES, "python_text.json"), python_text_fixture())
        from lm_eval.utils import make_table
        for k in [] if args.hf_layouts_only else shots:
            results = run(TASKS, TASK_DIR, k, args.limit, args.batch_size)
            for task in TASKS:
                write(os.path.join(FIXTURES, "lm_eval", f"{task}_{k}shot.json"),
                      task_fixture(results, task, k, args.limit, FULL_CONTEXTS))
            with open(os.path.join(FIXTURES, "lm_eval", f"table_{k}shot.md"), "w") as f:
                f.write(make_table(results))
        builtin = builtin_task_dir(tmp)
        names = ["lambada_openai", "piqa", "hellaswag", "winogrande", "boolq", "arc_easy"]
        for k in [0, 2]:
            results = run(names, builtin, k, None, args.batch_size)
            for task in names:
                write(os.path.join(FIXTURES, "hf_layouts", f"{task}_{k}shot.json"), task_fixture(results, task, k, None, None))
    finally:
        os.chdir(cwd)
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
