#!/usr/bin/env python3
"""Side-by-side decoding benchmark: PyTorch eager KV-cache loop and transformers' `generate` vs
`monolith bench generate`, on GPT-2 124M (random weights; speed does not depend on them), batch 1,
a 32-token prompt and 128 new tokens, greedy, same thread count. Medians over repetitions.

Usage: python3 scripts/bench_generate_pytorch.py [--threads N] [--monolith .build/release/monolith] [--json]
Needs: pip install torch transformers
"""
import argparse
import json
import os
import statistics
import subprocess
import sys
import time


def pytorch(args):
    import torch
    from transformers import GPT2Config, GPT2LMHeadModel
    torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    model = GPT2LMHeadModel(GPT2Config()).eval()
    prompt = torch.randint(0, 50257, (1, args.prompt))
    eager, gen = [], []
    with torch.no_grad():
        for rep in range(args.reps + 1):
            out = model(prompt, use_cache=True)
            past, tok = out.past_key_values, out.logits[:, -1].argmax(-1, keepdim=True)
            t0 = time.perf_counter()
            for _ in range(args.new - 1):
                out = model(tok, past_key_values=past, use_cache=True)
                past, tok = out.past_key_values, out.logits[:, -1].argmax(-1, keepdim=True)
            if rep:
                eager.append((time.perf_counter() - t0) * 1000 / (args.new - 1))
            t0 = time.perf_counter()
            model.generate(prompt, max_new_tokens=args.new, min_new_tokens=args.new, do_sample=False, pad_token_id=0)
            if rep:
                gen.append((time.perf_counter() - t0) * 1000 / args.new)
    return {"eager_ms_per_token": statistics.median(eager), "generate_ms_per_token": statistics.median(gen)}


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--threads", type=int, default=os.cpu_count())
    ap.add_argument("--prompt", type=int, default=32)
    ap.add_argument("--new", type=int, default=128)
    ap.add_argument("--reps", type=int, default=3)
    ap.add_argument("--monolith", default=os.path.join(os.path.dirname(__file__), "..", ".build", "release", "monolith"))
    ap.add_argument("--json", action="store_true")
    ap.add_argument("--pytorch-only", action="store_true", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.pytorch_only:
        print(json.dumps(pytorch(args)))
        return
    common = ["--threads", str(args.threads), "--prompt", str(args.prompt), "--new", str(args.new), "--reps", str(args.reps)]
    pt = json.loads(subprocess.run([sys.executable, __file__, "--pytorch-only"] + common, check=True,
                                   capture_output=True, text=True).stdout.strip().splitlines()[-1])
    mono = {}
    for w in ("fp32", "bf16"):
        out = subprocess.run([args.monolith, "bench", "generate", "--json", "--weights", w, "--threads", str(args.threads),
                              "--prompt-tokens", str(args.prompt), "--new-tokens", str(args.new), "--reps", str(args.reps)],
                             check=True, capture_output=True, text=True).stdout
        mono[w] = json.loads(out.strip().splitlines()[-1])
    if args.json:
        print(json.dumps({"pytorch": pt, "monolith": mono}))
        return
    print(f"gpt2-124m decode, batch 1, {args.prompt}-token prompt, {args.new} new tokens, {args.threads} threads")
    print(f"  PyTorch eager KV loop: {pt['eager_ms_per_token']:.1f} ms/token;  HF generate: {pt['generate_ms_per_token']:.1f} ms/token")
    for w in ("fp32", "bf16"):
        m = mono[w]
        print(f"  Monolith {w}: decode {m['decode_ms_per_token']:.1f} ms/token ({pt['eager_ms_per_token'] / m['decode_ms_per_token']:.2f}x eager), "
              f"prompt {m['prompt_ms_per_token']:.2f} ms/token")


if __name__ == "__main__":
    main()
