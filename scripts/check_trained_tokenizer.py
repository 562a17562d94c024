#!/usr/bin/env python3
"""Trains tokenizers with `monolith tokenizer train` and checks them with Hugging Face `tokenizers`.

For each vocabulary size it trains on the shared prose (10 valid Gutenberg texts + tinyshakespeare,
5.3 MB), then checks that:
  - Hugging Face loads the tokenizer.json and encodes every shared corpus exactly as
    `monolith tokenizer encode` does (chesterton-ball.txt, invalid UTF-8, with replacement);
  - vocab.json + merges.txt loaded as a Hugging Face BPE model encode the same;
  - Hugging Face decodes the ids back to the text, as Monolith does;
  - Hugging Face's own BpeTrainer (ByteLevel alphabet, same special token) learns the same
    vocabulary and the same merges in the same order.
Prints 'N passed, 0 failed' and exits non-zero on any failure.

With --bench it also times training side by side (median of --runs runs each, same machine, same
run): Hugging Face's Tokenizer.train(files) vs the `monolith tokenizer train` process.

Usage: python3 scripts/check_trained_tokenizer.py [--monolith BIN] [--vocab-sizes 8192,32768] [--bench]
Needs: pip install tokenizers (0.23), and a release build of monolith.
"""
import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time

from tokenizers import AddedToken, Tokenizer, decoders, models, pre_tokenizers, trainers

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def default_binary():
    for p in [".build-tok/release/monolith", ".build/release/monolith"]:
        if os.path.exists(os.path.join(ROOT, p)):
            return os.path.join(ROOT, p)
    return os.path.join(ROOT, ".build/release/monolith")


def hf_train(files, vocab_size):
    tok = Tokenizer(models.BPE())
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tok.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(vocab_size=vocab_size, special_tokens=["<|endoftext|>"],
                                  initial_alphabet=pre_tokenizers.ByteLevel.alphabet(), show_progress=False)
    t0 = time.perf_counter()
    tok.train(files, trainer)
    return tok, time.perf_counter() - t0


def monolith_train(binary, files, vocab_size, out):
    t0 = time.perf_counter()
    r = subprocess.run([binary, "tokenizer", "train", "--vocab-size", str(vocab_size), "--output", out] + files,
                       capture_output=True, text=True)
    elapsed = time.perf_counter() - t0
    if r.returncode != 0:
        sys.exit("monolith tokenizer train failed:\n" + r.stderr)
    return r.stdout.strip(), elapsed


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--monolith", default=default_binary())
    ap.add_argument("--data", default=os.path.join(ROOT, "..", "shared", "data"))
    ap.add_argument("--vocab-sizes", default="8192,32768")
    ap.add_argument("--bench", action="store_true")
    ap.add_argument("--runs", type=int, default=5)
    args = ap.parse_args()
    gutenberg = os.path.join(args.data, "gutenberg")
    train_files = [os.path.join(gutenberg, f) for f in sorted(os.listdir(gutenberg)) if f != "chesterton-ball.txt"]
    train_files.append(os.path.join(args.data, "tinyshakespeare", "input.txt"))
    corpora = train_files + [os.path.join(args.data, "wikitext-2", "valid.txt"), os.path.join(gutenberg, "chesterton-ball.txt")]
    passed = failed = 0

    def check(name, ok, detail=""):
        nonlocal passed, failed
        if ok:
            passed += 1
        else:
            failed += 1
            print(f"FAIL: {name} {detail}")

    for vocab_size in [int(v) for v in args.vocab_sizes.split(",")]:
        out = tempfile.mkdtemp(prefix=f"monolith-tok-{vocab_size}-")
        summary, _ = monolith_train(args.monolith, train_files, vocab_size, out)
        print(summary)
        hf = Tokenizer.from_file(os.path.join(out, "tokenizer.json"))
        legacy = Tokenizer(models.BPE.from_file(os.path.join(out, "vocab.json"), os.path.join(out, "merges.txt")))
        legacy.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
        legacy.add_special_tokens([AddedToken("<|endoftext|>", special=True)])
        for path in corpora:
            name = f"vocab {vocab_size}, {os.path.relpath(path, args.data)}"
            text = open(path, encoding="utf-8", errors="replace").read()
            r = subprocess.run([args.monolith, "tokenizer", "encode", "--replace-invalid", "--tokenizer", out, path],
                               capture_output=True, text=True)
            mine = [int(x) for x in r.stdout.split()]
            theirs = hf.encode(text).ids
            first = next((i for i, (a, b) in enumerate(zip(mine, theirs)) if a != b), min(len(mine), len(theirs)))
            check(name + ": tokenizer.json encodes identically", mine == theirs,
                  f"({len(mine)} vs {len(theirs)} ids, first difference at {first})")
            check(name + ": vocab.json + merges.txt encode identically", legacy.encode(text).ids == theirs)
            check(name + ": Hugging Face decodes the text back", hf.decode(mine, skip_special_tokens=False) == text)
        with_special = "first<|endoftext|>second\n"
        check(f"vocab {vocab_size}: <|endoftext|> is special", hf.encode(with_special).ids.count(hf.token_to_id("<|endoftext|>")) == 1)
        reference, _ = hf_train(train_files, vocab_size)
        ref_model = json.loads(reference.to_str())["model"]
        my_model = json.load(open(os.path.join(out, "tokenizer.json"), encoding="utf-8"))["model"]
        norm = lambda ms: [tuple(m) if isinstance(m, list) else tuple(m.split(" ")) for m in ms]
        check(f"vocab {vocab_size}: same vocabulary as Hugging Face's BpeTrainer", ref_model["vocab"] == my_model["vocab"])
        a, b = norm(ref_model["merges"]), norm(my_model["merges"])
        first = next((i for i, (x, y) in enumerate(zip(a, b)) if x != y), None)
        check(f"vocab {vocab_size}: same merges as Hugging Face's BpeTrainer", a == b,
              f"({len(a)} vs {len(b)}, first difference at {first})")

    if args.bench:
        print(f"\ntraining time, {len(train_files)} files ({sum(os.path.getsize(f) for f in train_files) / 1e6:.1f} MB), "
              f"median of {args.runs} runs, interleaved:")
        for vocab_size in [int(v) for v in args.vocab_sizes.split(",")]:
            hf_times, my_times = [], []
            for _ in range(args.runs):
                hf_times.append(hf_train(train_files, vocab_size)[1])
                my_times.append(monolith_train(args.monolith, train_files, vocab_size, tempfile.mkdtemp())[1])
            h, m = statistics.median(hf_times), statistics.median(my_times)
            print(f"  vocab {vocab_size}: Hugging Face tokenizers {h:.2f} s, monolith {m:.2f} s "
                  f"(whole process: read, train, write) -> {h / m:.1f}x")
            print(f"    runs: HF {[round(t, 2) for t in hf_times]}, monolith {[round(t, 2) for t in my_times]}")
    print(f"{passed} passed, {failed} failed")
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
