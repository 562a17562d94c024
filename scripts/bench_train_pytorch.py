#!/usr/bin/env python3
"""Side-by-side training benchmark: PyTorch eager vs `monolith bench train`, same configuration.

Runs the PyTorch peer (transformers GPT2LMHeadModel, fp32, fused AdamW, same thread count, random
tokens, forward + backward + clip + step), then Monolith, one after the other on the same machine,
and prints both results and the ratio. Medians over the timed steps, after one warm-up step.

Usage: python3 scripts/bench_train_pytorch.py --preset gpt2-124m --batch 4 --seq 256 --steps 5 \
           [--threads 2] [--precision fp32|bf16] [--monolith .build/release/monolith] [--json]

With --precision bf16 PyTorch runs the forward and the loss under
torch.autocast("cpu", dtype=torch.bfloat16) (fp32 master weights, as Monolith's bf16), and
Monolith runs `bench train --precision bf16`.
Needs: pip install torch transformers. Uses tcmalloc for PyTorch when libtcmalloc is installed
(apt-get install libgoogle-perftools4), as the figures in ../shared/GUIDE.md were measured.
"""
import argparse
import glob
import json
import os
import resource
import statistics
import subprocess
import sys
import time

PRESETS = {
    "gpt2-124m": dict(n_layer=12, n_head=12, n_embd=768),
    "tiny": dict(n_layer=4, n_head=4, n_embd=256),
}


def pytorch_run(args):
    import torch
    from transformers import GPT2Config, GPT2LMHeadModel
    torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    cfg = GPT2Config(vocab_size=50257, n_positions=1024, resid_pdrop=0.0, embd_pdrop=0.0, attn_pdrop=0.0,
                     **PRESETS[args.preset])
    model = GPT2LMHeadModel(cfg).float().train()
    decay = [p for p in model.parameters() if p.dim() >= 2]
    no_decay = [p for p in model.parameters() if p.dim() < 2]
    opt = torch.optim.AdamW([{"params": decay, "weight_decay": 0.1}, {"params": no_decay, "weight_decay": 0.0}],
                            lr=6e-4, betas=(0.9, 0.95), eps=1e-8, fused=True)
    x = torch.randint(0, 50257, (args.batch, args.seq))
    y = torch.randint(0, 50257, (args.batch, args.seq))
    times = []
    for i in range(args.steps + 1):
        t0 = time.perf_counter()
        with torch.autocast("cpu", dtype=torch.bfloat16, enabled=args.precision == "bf16"):
            logits = model(x).logits
        loss = torch.nn.functional.cross_entropy(logits.float().view(-1, logits.size(-1)), y.view(-1), ignore_index=-1)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        dt = time.perf_counter() - t0
        if i > 0:
            times.append(dt * 1000)
        print(f"  pytorch step {i}: {dt * 1000:.1f} ms", file=sys.stderr)
    ms = statistics.median(times)
    tokens = args.batch * args.seq
    return {"ms_per_step": ms, "tokens_per_second": tokens / (ms / 1000),
            "peak_rss_bytes": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024,
            "step_times_ms": times, "torch": torch.__version__}


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--preset", default="gpt2-124m", choices=sorted(PRESETS))
    ap.add_argument("--batch", type=int, default=4)
    ap.add_argument("--seq", type=int, default=256)
    ap.add_argument("--steps", type=int, default=5)
    ap.add_argument("--threads", type=int, default=os.cpu_count())
    ap.add_argument("--monolith", default=os.path.join(os.path.dirname(__file__), "..", ".build", "release", "monolith"))
    ap.add_argument("--precision", default="fp32", choices=["fp32", "bf16"])
    ap.add_argument("--json", action="store_true")
    ap.add_argument("--pytorch-only", action="store_true", help=argparse.SUPPRESS)
    args = ap.parse_args()

    if args.pytorch_only:
        print(json.dumps(pytorch_run(args)))
        return
    # PyTorch runs in a child so each side's peak RSS is its own, and tcmalloc can be preloaded.
    env = dict(os.environ)
    tcmalloc = sorted(glob.glob("/usr/lib/*/libtcmalloc.so*"))
    if tcmalloc:
        env["LD_PRELOAD"] = tcmalloc[0]
    common = ["--preset", args.preset, "--batch", str(args.batch), "--seq", str(args.seq),
              "--steps", str(args.steps), "--threads", str(args.threads), "--precision", args.precision]
    torch_out = subprocess.run([sys.executable, __file__, "--pytorch-only"] + common, env=env,
                               check=True, capture_output=True, text=True)
    sys.stderr.write(torch_out.stderr)
    pt = json.loads(torch_out.stdout.strip().splitlines()[-1])
    pt["allocator"] = "tcmalloc" if tcmalloc else "glibc"
    mono_out = subprocess.run([args.monolith, "bench", "train", "--json"] + common, check=True,
                              capture_output=True, text=True)
    mn = json.loads(mono_out.stdout.strip().splitlines()[-1])
    ratio = mn["tokens_per_second"] / pt["tokens_per_second"]
    mem_ratio = mn["peak_rss_bytes"] / pt["peak_rss_bytes"]
    if args.json:
        print(json.dumps({"pytorch": pt, "monolith": mn, "speedup": ratio, "rss_ratio": mem_ratio}))
        return
    print(f"{args.preset} B={args.batch} T={args.seq}, {args.threads} threads, {args.precision}; {mn.get('cpu', '')}")
    print(f"  PyTorch {pt['torch']} ({pt['allocator']}): {pt['ms_per_step']:.1f} ms/step, "
          f"{pt['tokens_per_second']:.0f} tok/s, peak RSS {pt['peak_rss_bytes'] / 2**30:.2f} GiB")
    print(f"  Monolith:  {mn['ms_per_step']:.1f} ms/step, {mn['tokens_per_second']:.0f} tok/s, "
          f"{mn['gflops']:.0f} GFLOP/s, MFU {100 * mn['mfu']:.1f}% of {mn['peak_gflops']:.0f}, "
          f"peak RSS {mn['peak_rss_bytes'] / 2**30:.2f} GiB")
    print(f"  speed-up (tokens/s): {ratio:.2f}x   memory (peak RSS): {mem_ratio:.2f}x of PyTorch")


if __name__ == "__main__":
    main()
