#!/usr/bin/env python3
"""The shakespeare-char benchmark, side by side: a PyTorch peer vs `monolith train --preset shakespeare-char`.

The peer trains the same configuration as nanoGPT's CPU command (`python train.py
config/train_shakespeare_char.py --device=cpu --compile=False --eval_iters=20 --log_interval=1
--block_size=64 --batch_size=12 --n_layer=4 --n_head=4 --n_embd=128 --max_iters=2000
--lr_decay_iters=2000 --dropout=0.0`): character-level Tiny Shakespeare split 90/10 by characters,
4 layers, 4 heads, 128 wide, context 64, batch 12, 2000 iterations, AdamW (β 0.9/0.99, weight decay
0.1 on 2-D weights), lr 1e-3 warming up over 100 iterations and decaying (cosine) to 1e-4 at 2000,
clipping 1.0, evaluation every 250 iterations on 20 batches of each split. It uses transformers'
GPT2LMHeadModel (the same GPT-2 block Monolith implements) rather than nanoGPT's own file, which is
not on PyPI. Both are timed end to end as processes, one after the other, on the same cores. At the
end each reports the validation loss over the whole validation split.

Usage: python3 scripts/bench_shakespeare_char.py [--monolith .build/release/monolith] [--threads N]
       [--input ../shared/data/tinyshakespeare/input.txt] [--json]
Needs: pip install torch transformers
"""
import argparse
import json
import math
import os
import re
import subprocess
import sys
import time

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..")


def char_splits(path):
    """Tiny Shakespeare as character ids, split 90/10 by position: (vocabulary, train, val)."""
    import torch
    text = open(path, encoding="utf-8").read()
    chars = sorted(set(text))
    stoi = {c: i for i, c in enumerate(chars)}
    data = torch.tensor([stoi[c] for c in text], dtype=torch.long)
    n = int(0.9 * len(data))
    return chars, data[:n], data[n:]


def whole_split_loss(model, loss_of, val, block, batch):
    """Mean loss per token over the whole split in consecutive `block`-token windows, as Monolith's
    final evaluation."""
    import torch
    model.eval()
    total, count = 0.0, 0
    with torch.no_grad():
        starts = list(range(0, len(val) - block, block))
        for i in range(0, len(starts), batch):
            s = starts[i:i + batch]
            x = torch.stack([val[j:j + block] for j in s])
            y = torch.stack([val[j + 1:j + 1 + block] for j in s])
            total += loss_of(x, y).item() * y.numel()
            count += y.numel()
    return total / count


def peer(args):
    import torch
    from transformers import GPT2Config, GPT2LMHeadModel
    t0 = time.time()
    torch.set_num_threads(args.threads)
    torch.manual_seed(1337)
    chars, train, val = char_splits(args.input)
    block, batch, iters, warmup, lr, min_lr = 64, 12, 2000, 100, 1e-3, 1e-4
    cfg = GPT2Config(vocab_size=len(chars), n_positions=block, n_layer=4, n_head=4, n_embd=128,
                     resid_pdrop=0.0, embd_pdrop=0.0, attn_pdrop=0.0)
    model = GPT2LMHeadModel(cfg).train()
    params = [p for p in model.parameters()]
    opt = torch.optim.AdamW([{"params": [p for p in params if p.dim() >= 2], "weight_decay": 0.1},
                             {"params": [p for p in params if p.dim() < 2], "weight_decay": 0.0}],
                            lr=lr, betas=(0.9, 0.99))

    def get_batch(split):
        d = train if split == "train" else val
        ix = torch.randint(len(d) - block, (batch,))
        return torch.stack([d[i:i + block] for i in ix]), torch.stack([d[i + 1:i + 1 + block] for i in ix])

    def loss_of(x, y):
        logits = model(x).logits
        return torch.nn.functional.cross_entropy(logits.view(-1, logits.size(-1)), y.view(-1))

    def get_lr(it):
        if it < warmup:
            return lr * (it + 1) / (warmup + 1)
        if it > iters:
            return min_lr
        ratio = (it - warmup) / (iters - warmup)
        return min_lr + 0.5 * (1.0 + math.cos(math.pi * ratio)) * (lr - min_lr)

    for it in range(iters + 1):
        for g in opt.param_groups:
            g["lr"] = get_lr(it)
        if it % 250 == 0:
            model.eval()
            with torch.no_grad():
                est = {s: sum(loss_of(*get_batch(s)).item() for _ in range(20)) / 20 for s in ("train", "val")}
            model.train()
            print(f"  peer step {it}: train {est['train']:.4f}, val {est['val']:.4f}", file=sys.stderr)
        if it == iters:
            break
        x, y = get_batch("train")
        loss = loss_of(x, y)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
    train_seconds = time.time() - t0
    return {"seconds": train_seconds, "val_loss_whole_split": whole_split_loss(model, loss_of, val, block, batch),
            "val_loss_20_batches": est["val"]}


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--monolith", default=os.path.join(ROOT, ".build", "release", "monolith"))
    ap.add_argument("--input", default=os.path.join(ROOT, "..", "shared", "data", "tinyshakespeare", "input.txt"))
    ap.add_argument("--threads", type=int, default=os.cpu_count())
    ap.add_argument("--json", action="store_true")
    ap.add_argument("--peer-only", action="store_true", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.peer_only:
        print(json.dumps(peer(args)))
        return
    t0 = time.time()
    out = subprocess.run([sys.executable, __file__, "--peer-only", "--input", args.input, "--threads", str(args.threads)],
                         check=True, capture_output=True, text=True)
    peer_wall = time.time() - t0
    sys.stderr.write(out.stderr)
    pt = json.loads(out.stdout.strip().splitlines()[-1])
    run_dir = os.path.join("/tmp", f"monolith-bench-shakespeare-{os.getpid()}")
    env = dict(os.environ, MONOLITH_THREADS=str(args.threads))
    t0 = time.time()
    mono = subprocess.run([args.monolith, "train", "--preset", "shakespeare-char", "--data.paths", args.input,
                           "--logging.out_dir", run_dir, "--logging.progress", "lines", "--logging.interval", "500"],
                          check=True, capture_output=True, text=True, env=env)
    mono_wall = time.time() - t0
    m = re.findall(r"validation loss ([0-9.]+)", mono.stdout)
    result = {"pytorch_peer": {"wall_seconds": peer_wall, **pt},
              "monolith": {"wall_seconds": mono_wall, "val_loss_whole_split": float(m[-1]) if m else None},
              "time_ratio": mono_wall / peer_wall,
              "nanogpt_anchor": {"wall_seconds": 86.5, "val_loss_20_batches": 1.886, "note": "measured by the issue's author"}}
    if args.json:
        print(json.dumps(result))
        return
    print(f"PyTorch peer: {peer_wall:.1f} s end to end, validation loss {pt['val_loss_whole_split']:.4f} (whole split)")
    print(f"Monolith:     {mono_wall:.1f} s end to end, validation loss {result['monolith']['val_loss_whole_split']:.4f} (whole split)")
    print(f"time ratio Monolith / peer: {result['time_ratio']:.2f}   (nanoGPT anchor: 86.5 s -> target <= 43.3 s)")


if __name__ == "__main__":
    main()
