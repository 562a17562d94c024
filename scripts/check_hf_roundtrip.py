#!/usr/bin/env python3
"""Monolith → transformers round trip on a real checkpoint.

Trains a small character-level model for a few steps with `monolith train` (every checkpoint is a
Hugging Face directory), loads it with `GPT2LMHeadModel.from_pretrained`, and checks that
(1) transformers and `monolith perplexity` give the same mean loss on the same text (1e-4 relative),
and (2) greedy generation from the same prompt gives the same text in both.
(The other direction, transformers → Monolith, is covered by the Swift tests on fixtures written
by scripts/make_hf_fixtures.py.)

Usage: python3 scripts/check_hf_roundtrip.py [--monolith .build/release/monolith]
Needs: pip install torch transformers
"""
import argparse
import json
import math
import os
import subprocess
import sys
import tempfile

import torch
from transformers import GPT2LMHeadModel

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--monolith", default=os.path.join(ROOT, ".build", "release", "monolith"))
    args = ap.parse_args()
    tmp = tempfile.mkdtemp(prefix="monolith-roundtrip-")
    corpus = os.path.join(tmp, "corpus.txt")
    text = open(os.path.join(ROOT, "..", "shared", "data", "tinyshakespeare", "input.txt"), encoding="utf-8").read()
    open(corpus, "w", encoding="utf-8").write(text[:200_000])
    run = os.path.join(tmp, "run")
    subprocess.run([args.monolith, "train", "--data.paths", corpus, "--logging.out_dir", run, "--training.max_steps", "60",
                    "--logging.progress", "none", "--training.sample_tokens", "0"], check=True, capture_output=True)
    ckpt = os.path.join(run, "checkpoints", "step-00000060")
    chars = json.load(open(os.path.join(ckpt, "char_tokenizer.json")))
    vocab = chars["chars"]
    stoi = {c: i for i, c in enumerate(vocab)}
    model = GPT2LMHeadModel.from_pretrained(ckpt).eval()
    passed = failed = 0

    # (1) mean loss over consecutive windows of the context length (stride = context).
    sample = text[300_000:302_000]
    sample_file = os.path.join(tmp, "sample.txt")
    open(sample_file, "w", encoding="utf-8").write(sample)
    ids = torch.tensor([[stoi[c] for c in sample]])
    ctx = model.config.n_positions
    nll, count = 0.0, 0
    with torch.no_grad():
        for begin in range(0, ids.size(1), ctx):
            window = ids[:, begin:begin + ctx]
            if window.size(1) < 2:
                break
            loss = model(window, labels=window).loss.item()
            nll += loss * (window.size(1) - 1)
            count += window.size(1) - 1
    hf = nll / count
    out = subprocess.run([args.monolith, "perplexity", "--model", ckpt, "--text", sample_file, "--json"],
                         check=True, capture_output=True, text=True).stdout
    mono = json.loads(out)["mean_loss"]
    ok = abs(mono - hf) / hf < 1e-4
    print(f"{'ok' if ok else 'FAIL'}: mean loss transformers {hf:.6f}, monolith {mono:.6f}")
    passed, failed = passed + ok, failed + (not ok)

    # (2) greedy generation.
    prompt = "ROMEO:\n"
    with torch.no_grad():
        prompt_ids = torch.tensor([[stoi[c] for c in prompt]])
        # An explicit mask: without it generate() treats every id equal to pad_token_id as padding.
        gen = model.generate(prompt_ids, attention_mask=torch.ones_like(prompt_ids), max_new_tokens=40,
                             do_sample=False, pad_token_id=0, eos_token_id=None)
    hf_text = "".join(vocab[i] for i in gen[0].tolist())
    mono_text = subprocess.run([args.monolith, "generate", "--model", ckpt, "--prompt", prompt, "--max-new-tokens", "40",
                                "--temperature", "0"], check=True, capture_output=True, text=True).stdout.rstrip("\n")
    ok = hf_text == mono_text
    print(f"{'ok' if ok else 'FAIL'}: greedy generation {'identical' if ok else 'differs'}: {hf_text!r}")
    if not ok:
        print(f"    monolith: {mono_text!r}")
    passed, failed = passed + ok, failed + (not ok)
    print(f"{passed} passed, {failed} failed")
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
