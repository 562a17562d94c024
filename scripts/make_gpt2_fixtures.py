#!/usr/bin/env python3
"""Writes the GPT-2 reference fixtures that the Swift tests compare against.

Each fixture is a safetensors file produced by PyTorch + transformers' GPT2LMHeadModel (fp32,
eager attention, dropout off). It holds, for one tiny configuration:
  ids, targets (some -1)              int32 [B, T]
  logits [B, T, V], loss [1]          forward of the initial model
  param.<hf name>, grad.<hf name>     initial weights and d(loss)/d(weight)
  step_losses, step_grad_norms, step_lrs [10]
  final.<hf name>                     weights after 10 AdamW steps, each step accumulating two
                                      micro-batches (the two halves of the batch), clipping the
                                      global grad norm and following warm-up + cosine decay.
Metadata: "config" (GPT2Config fields) and "optim" (the optimizer settings), both JSON.

Usage: python3 scripts/make_gpt2_fixtures.py [OUTDIR]   (default Tests/Fixtures/gpt2)
Needs: pip install torch transformers safetensors
"""
import json
import math
import os
import sys

import torch
import torch.nn.functional as F
from safetensors.torch import save_file
from transformers import GPT2Config, GPT2LMHeadModel

CONFIGS = {
    # vocabulary not a multiple of 64, T shorter than the context, 4 heads of 16
    "small": dict(n_layer=2, n_head=4, n_embd=64, vocab_size=97, n_positions=32, batch=2, seq=16),
    # 2 heads of 24, T equal to the context, batch of 4
    "two_heads": dict(n_layer=3, n_head=2, n_embd=48, vocab_size=130, n_positions=24, batch=4, seq=24),
    # width 40 (not a multiple of the 16-lane SIMD width), 5 heads of 8, odd T
    "odd_width": dict(n_layer=1, n_head=5, n_embd=40, vocab_size=50, n_positions=20, batch=2, seq=11),
}
OPTIM = dict(lr=1e-2, min_lr=1e-3, warmup_steps=3, decay_steps=10, beta1=0.9, beta2=0.95, eps=1e-8,
             weight_decay=0.1, grad_clip=0.5, steps=10, micro_batches=2)


def lr_at(step, o):
    if step < o["warmup_steps"]:
        return o["lr"] * (step + 1) / o["warmup_steps"]
    if step >= o["decay_steps"]:
        return o["min_lr"]
    ratio = (step - o["warmup_steps"]) / (o["decay_steps"] - o["warmup_steps"])
    return o["min_lr"] + 0.5 * (1 + math.cos(math.pi * ratio)) * (o["lr"] - o["min_lr"])


def make(name, c, outdir):
    torch.manual_seed(1234)
    cfg = GPT2Config(attn_implementation="eager", n_layer=c["n_layer"], n_head=c["n_head"], n_embd=c["n_embd"], vocab_size=c["vocab_size"],
                     n_positions=c["n_positions"], resid_pdrop=0.0, embd_pdrop=0.0, attn_pdrop=0.0,
                     layer_norm_epsilon=1e-5, initializer_range=0.02,
                     bos_token_id=c["vocab_size"] - 1, eos_token_id=c["vocab_size"] - 1)
    model = GPT2LMHeadModel(cfg).float()
    model.train()
    # Perturb every tensor (biases and LayerNorm included) so no code path sees trivial values.
    with torch.no_grad():
        for p in model.parameters():
            p.add_(torch.randn_like(p) * 0.05)
    config = cfg.to_dict()
    meta_cfg = {k: config[k] for k in ["n_layer", "n_head", "n_embd", "vocab_size", "n_positions", "layer_norm_epsilon"]}
    record(model, c, meta_cfg, os.path.join(outdir, f"{name}.safetensors"))


def train(model, ids, targets, v, o):
    """10 AdamW steps (two accumulated micro-batches, clipping, warm-up + cosine); per-step stats."""
    named = list(model.named_parameters())
    decay = [p for n, p in named if p.dim() >= 2]
    no_decay = [p for n, p in named if p.dim() < 2]
    opt = torch.optim.AdamW([{"params": decay, "weight_decay": o["weight_decay"]},
                             {"params": no_decay, "weight_decay": 0.0}],
                            lr=o["lr"], betas=(o["beta1"], o["beta2"]), eps=o["eps"], foreach=False)
    losses, norms, lrs = [], [], []
    half = ids.shape[0] // o["micro_batches"]
    for step in range(o["steps"]):
        lr = lr_at(step, o)
        for g in opt.param_groups:
            g["lr"] = lr
        opt.zero_grad(set_to_none=True)
        total = 0.0
        for k in range(o["micro_batches"]):
            sl = slice(k * half, (k + 1) * half)
            lg = model(ids[sl]).logits
            l = F.cross_entropy(lg.reshape(-1, v), targets[sl].reshape(-1), ignore_index=-1)
            (l / o["micro_batches"]).backward()
            total += l.item() / o["micro_batches"]
        norm = torch.nn.utils.clip_grad_norm_(model.parameters(), o["grad_clip"])
        opt.step()
        losses.append(total)
        norms.append(norm.item())
        lrs.append(lr)
    return losses, norms, lrs


def record(model, c, meta_cfg, path, spread=False):
    """Forward, backward and 10 AdamW steps of `model` on seeded ids; saves everything to `path`.

    With `spread`, also the same 10 steps in float64 from the same start: `spread.<name>` is how far
    PyTorch's own float32 weights end from its float64 ones (max |difference| over max |weight|).
    AdamW divides by √v, so weights whose gradients are tiny amplify rounding noise; the tests
    allow a tensor twice this spread when it exceeds their usual bound."""
    import copy
    twin = copy.deepcopy(model).double() if spread else None
    b, t, v = c["batch"], c["seq"], c["vocab_size"]
    ids = torch.randint(0, v, (b, t))
    targets = torch.randint(0, v, (b, t))
    targets[0, 1] = -1
    targets[-1, -1] = -1
    targets[b // 2, t // 2] = -1

    out = {"ids": ids.int(), "targets": targets.int()}
    named = list(model.named_parameters())
    for n, p in named:
        out["param." + n] = p.detach().clone()

    logits = model(ids).logits
    loss = F.cross_entropy(logits.reshape(-1, v), targets.reshape(-1), ignore_index=-1)
    loss.backward()
    out["logits"] = logits.detach().clone()
    out["loss"] = loss.detach().reshape(1).clone()
    for n, p in named:
        out["grad." + n] = p.grad.detach().clone()

    o = OPTIM
    losses, norms, lrs = train(model, ids, targets, v, o)
    if twin is not None:
        train(twin, ids, targets, v, o)
        for (n, p), (_, q) in zip(model.named_parameters(), twin.named_parameters()):
            out["spread." + n] = ((p.detach().double() - q.detach()).abs().max() / q.detach().abs().max()).float().reshape(1)
    out["step_losses"] = torch.tensor(losses, dtype=torch.float32)
    out["step_grad_norms"] = torch.tensor(norms, dtype=torch.float32)
    out["step_lrs"] = torch.tensor(lrs, dtype=torch.float32)
    for n, p in named:
        out["final." + n] = p.detach().clone()

    meta_cfg = dict(meta_cfg, batch=b, seq=t)
    out = {k: v.contiguous() for k, v in out.items()}
    save_file(out, path, metadata={"config": json.dumps(meta_cfg), "optim": json.dumps(o),
                                   "generator": f"torch {torch.__version__}"})
    print(f"wrote {path}: loss {loss.item():.6f}, 10-step losses {losses[0]:.4f} -> {losses[-1]:.4f}, "
          f"grad norms {norms[0]:.3f} -> {norms[-1]:.3f}")


def main():
    outdir = sys.argv[1] if len(sys.argv) > 1 else os.path.join(os.path.dirname(__file__), "..", "Tests", "Fixtures", "gpt2")
    os.makedirs(outdir, exist_ok=True)
    torch.set_num_threads(1)
    for name, c in CONFIGS.items():
        make(name, c, outdir)


if __name__ == "__main__":
    main()
