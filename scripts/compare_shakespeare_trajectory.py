#!/usr/bin/env python3
"""Step-by-step comparison of `monolith train --preset shakespeare-char` with a PyTorch peer on the
same initial weights and the same batches, to tell an optimization difference from seed noise.

The peer (transformers' GPT2LMHeadModel, the block Monolith implements) draws its initial weights
with `torch.manual_seed(SEED)` and saves them with `save_pretrained`; Monolith starts from that
directory (`--model.init_from`). Both draw training windows with Monolith's sampler (SplitMix64
seeded with `data.seed`, offset = next() mod (len(train) − 64)), so batch k is identical. Both run
the preset's recipe (AdamW β 0.9/0.99, decay 0.1 on 2-D tensors, clipping 1.0, lr 1e-3 warm-up 100
then cosine to 1e-4 at 2000) and report per-step training losses and the final loss over the whole
validation split (consecutive 64-token windows).

Usage: python3 scripts/compare_shakespeare_trajectory.py [--monolith .build/release/monolith]
       [--steps 2000] [--seed 1337] [--data-seed 1234] [--threads 2]
Needs: pip install torch transformers safetensors
"""
import argparse
import json
import math
import os
import subprocess
import sys
import tempfile

from bench_shakespeare_char import char_splits, whole_split_loss

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..")
MASK = (1 << 64) - 1


def splitmix64(state):
    state = (state + 0x9E3779B97F4A7C15) & MASK
    z = state
    z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & MASK
    z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & MASK
    return state, z ^ (z >> 31)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--monolith", default=os.path.join(ROOT, ".build", "release", "monolith"))
    ap.add_argument("--input", default=os.path.join(ROOT, "..", "shared", "data", "tinyshakespeare", "input.txt"))
    ap.add_argument("--steps", type=int, default=2000)
    ap.add_argument("--seed", type=int, default=1337)
    ap.add_argument("--data-seed", type=int, default=1234)
    ap.add_argument("--threads", type=int, default=os.cpu_count())
    args = ap.parse_args()
    import torch
    from transformers import GPT2Config, GPT2LMHeadModel
    torch.set_num_threads(args.threads)
    torch.manual_seed(args.seed)
    chars, train, val = char_splits(args.input)
    block, batch, warmup, lr, min_lr, decay_steps = 64, 12, 100, 1e-3, 1e-4, 2000
    cfg = GPT2Config(vocab_size=len(chars), n_positions=block, n_layer=4, n_head=4, n_embd=128,
                     resid_pdrop=0.0, embd_pdrop=0.0, attn_pdrop=0.0)
    model = GPT2LMHeadModel(cfg)
    work = tempfile.mkdtemp(prefix="monolith-trajectory-")
    init_dir = os.path.join(work, "init")
    model.save_pretrained(init_dir, safe_serialization=True)

    out_dir = os.path.join(work, "monolith")
    env = dict(os.environ, MONOLITH_THREADS=str(args.threads))
    subprocess.run([args.monolith, "train", "--preset", "shakespeare-char", "--data.paths", args.input,
                    "--model.init_from", init_dir, "--training.max_steps", str(args.steps),
                    "--schedule.decay_steps", str(decay_steps), "--data.seed", str(args.data_seed),
                    "--training.sample_tokens", "0", "--training.eval_interval", "0",
                    "--logging.out_dir", out_dir, "--logging.progress", "none", "--logging.tensorboard", "false",
                    "--logging.plot", "false"], check=True, capture_output=True, text=True, env=env)
    mono_loss, mono_val = {}, None
    for line in open(os.path.join(out_dir, "metrics.jsonl")):
        rec = json.loads(line)
        if "loss" in rec:
            mono_loss[rec["step"]] = rec["loss"]
        if "val_loss" in rec:
            mono_val = rec["val_loss"]

    params = list(model.parameters())
    opt = torch.optim.AdamW([{"params": [p for p in params if p.dim() >= 2], "weight_decay": 0.1},
                             {"params": [p for p in params if p.dim() < 2], "weight_decay": 0.0}],
                            lr=lr, betas=(0.9, 0.99), eps=1e-8)

    def lr_at(step):
        if step < warmup:
            return lr * (step + 1) / warmup
        if step >= decay_steps:
            return min_lr
        ratio = (step - warmup) / max(1, decay_steps - warmup)
        return min_lr + 0.5 * (1 + math.cos(math.pi * ratio)) * (lr - min_lr)

    def loss_of(x, y):
        logits = model(x).logits
        return torch.nn.functional.cross_entropy(logits.view(-1, logits.size(-1)), y.view(-1))

    state = args.data_seed
    peer_loss = {}
    model.train()
    for step in range(args.steps):
        starts = []
        for _ in range(batch):
            state, r = splitmix64(state)
            starts.append(r % (len(train) - block))
        x = torch.stack([train[s:s + block] for s in starts])
        y = torch.stack([train[s + 1:s + 1 + block] for s in starts])
        for g in opt.param_groups:
            g["lr"] = lr_at(step)
        loss = loss_of(x, y)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(params, 1.0)
        opt.step()
        peer_loss[step + 1] = loss.item()
    peer_val = whole_split_loss(model, loss_of, val, block, batch)

    def rel(k):
        return abs(mono_loss[k] - peer_loss[k]) / peer_loss[k]

    for upto in (1, 10, 100, 500, args.steps):
        if upto <= args.steps:
            worst = max(rel(k) for k in range(1, upto + 1))
            print(f"steps 1-{upto}: max relative training-loss difference {worst:.2e}")
    window = range(max(1, args.steps - 199), args.steps + 1)
    mean_m = sum(mono_loss[k] for k in window) / len(window)
    mean_p = sum(peer_loss[k] for k in window) / len(window)
    print(f"mean training loss over the last {len(window)} steps: Monolith {mean_m:.4f}, PyTorch {mean_p:.4f}")
    print(f"validation loss over the whole split: Monolith {mono_val:.4f}, PyTorch {peer_val:.4f}")


if __name__ == "__main__":
    sys.exit(main())
