#!/usr/bin/env python3
"""Monolith → transformers round trip of a Llama checkpoint (e.g. SmolLM2 fine-tuned by
`monolith train --model.init_from smollm2-135m-instruct --tokenizer.kind model`).

Checks that transformers' AutoTokenizer and AutoModelForCausalLM load the checkpoint directory
(LlamaForCausalLM safetensors + tokenizer.json + tokenizer_config.json with the chat template),
that the tokenizer gives Monolith's ids, that the mean loss over a text equals `monolith
perplexity`'s (sliding windows, 1e-5 relative), and that greedy generation gives the same tokens.

Usage: python3 scripts/check_llama_roundtrip.py CHECKPOINT_DIR [--monolith .build/release/monolith]
Needs: pip install torch transformers
"""
import argparse
import json
import math
import os
import subprocess
import sys

import torch
from transformers import AutoModelForCausalLM, AutoTokenizer

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("checkpoint")
    ap.add_argument("--monolith", default=os.path.join(ROOT, ".build", "release", "monolith"))
    args = ap.parse_args()
    torch.set_num_threads(2)
    tok = AutoTokenizer.from_pretrained(args.checkpoint)
    model = AutoModelForCausalLM.from_pretrained(args.checkpoint, dtype=torch.float32, attn_implementation="eager").eval()
    failures = 0
    text = open(os.path.join(ROOT, "..", "shared", "data", "wikitext-2", "valid.txt"), encoding="utf-8").read()[:6000]
    path = os.path.join(args.checkpoint, "roundtrip-text.txt")
    open(path, "w", encoding="utf-8").write(text)
    ids = tok(text, add_special_tokens=False, return_tensors="pt").input_ids
    ctx = 256
    nll, count, prev = 0.0, 0, 0
    with torch.no_grad():
        for begin in range(0, ids.shape[1], ctx):
            end = min(begin + ctx, ids.shape[1])
            window = ids[:, begin:end]
            labels = window.clone()
            labels[:, :-(end - prev)] = -100
            loss = model(window, labels=labels).loss.item()
            n = (labels != -100).sum().item() - 1
            nll += loss * n
            count += n
            prev = end
            if end == ids.shape[1]:
                break
    hf = nll / count
    out = subprocess.run([args.monolith, "perplexity", "--model", args.checkpoint, "--text", path, "--context", str(ctx), "--json"],
                         check=True, capture_output=True, text=True).stdout
    mono = json.loads(out)["mean_loss"]
    rel = abs(hf - mono) / abs(hf)
    print(f"{'ok' if rel < 1e-5 else 'FAIL'}: mean loss transformers {hf:.7f}, monolith {mono:.7f} (relative {rel:.2e}) over {ids.shape[1]} tokens")
    failures += rel >= 1e-5
    prompt = "The history of the city"
    pid = tok(prompt, add_special_tokens=False, return_tensors="pt").input_ids
    with torch.no_grad():
        g = model.generate(pid, attention_mask=torch.ones_like(pid), max_new_tokens=32, do_sample=False,
                           min_new_tokens=32, pad_token_id=tok.eos_token_id, eos_token_id=None)
    hf_text = tok.decode(g[0], skip_special_tokens=False)
    mono_text = subprocess.run([args.monolith, "generate", "--model", args.checkpoint, "--prompt", prompt, "--temperature", "0",
                                "--max-new-tokens", "32", "--ignore-eos"], check=True, capture_output=True, text=True).stdout.rstrip("\n")
    same = hf_text == mono_text
    print(f"{'ok' if same else 'FAIL'}: greedy 32 tokens {'identical' if same else 'differ'}: {mono_text!r}")
    if not same:
        print(f"    transformers: {hf_text!r}")
    failures += not same
    os.remove(path)
    print(f"{2 - failures} passed, {failures} failed")
    sys.exit(1 if failures else 0)


if __name__ == "__main__":
    main()
