#!/usr/bin/env python3
"""Trains the small GPT-2 of the `monolith eval` parity fixtures and exports it to Hugging Face.

The model: GPT-2 BPE (50,257 tokens), 2 layers, 4 heads, 128 wide, context 256 (6.5M parameters,
the embedding being most of them), trained by `monolith train` for 400 steps on Austen and
Chesterton prose from ../shared/data/gutenberg, one thread. The checkpoint is written in fp16
(13 MB) to Tests/Fixtures/eval/model with GPT-2's tokenizer files, and checked to load in
transformers (AutoModelForCausalLM, AutoTokenizer) and to give the same logits as the fp32
checkpoint rounded to fp16.

    /work/venv/bin/python scripts/make_eval_model.py --monolith .build-eval/release/monolith
    /work/venv/bin/python scripts/make_eval_model.py --checkpoint /tmp/run/checkpoints/step-00000400

Then scripts/make_eval_fixtures.py runs lm-eval on it.
"""
import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SHARED = os.path.join(os.path.dirname(REPO), "shared", "data")
OUT = os.path.join(REPO, "Tests", "Fixtures", "eval", "model")
BOOKS = ["austen-emma", "austen-persuasion", "austen-sense", "chesterton-brown", "chesterton-thursday"]


def train(monolith, out_dir):
    paths = ",".join(os.path.join(SHARED, "gutenberg", b + ".txt") for b in BOOKS)
    cmd = [monolith, "train", "--model.n_layer", "2", "--model.n_head", "4", "--model.n_embd", "128",
           "--model.context_length", "256", "--tokenizer.kind", "gpt2",
           "--tokenizer.path", os.path.join(SHARED, "gpt2-tokenizer"), "--data.paths", paths,
           "--training.micro_batch", "8", "--training.global_batch", "8", "--training.max_steps", "400",
           "--schedule.warmup_steps", "40", "--schedule.decay_steps", "400", "--optimizer.lr", "0.002",
           "--training.threads", "1", "--training.eval_interval", "100", "--checkpoint.interval", "100",
           "--logging.out_dir", out_dir, "--logging.progress", "lines"]
    print(" ".join(cmd), flush=True)
    subprocess.run(cmd, check=True)
    return os.path.join(out_dir, "checkpoints", "step-00000400")


def export(checkpoint):
    import torch
    from safetensors.torch import load_file, save_file
    from transformers import AutoModelForCausalLM, AutoTokenizer

    os.makedirs(OUT, exist_ok=True)
    tensors = load_file(os.path.join(checkpoint, "model.safetensors"))
    half = {k: v.to(torch.float16).contiguous() for k, v in tensors.items()}
    save_file(half, os.path.join(OUT, "model.safetensors"), metadata={"format": "pt"})
    with open(os.path.join(checkpoint, "config.json")) as f:
        config = json.load(f)
    config["torch_dtype"] = "float16"
    with open(os.path.join(OUT, "config.json"), "w") as f:
        json.dump(config, f, indent=2)
        f.write("\n")
    for name in ["vocab.json", "merges.txt"]:
        shutil.copyfile(os.path.join(SHARED, "gpt2-tokenizer", name), os.path.join(OUT, name))
    with open(os.path.join(OUT, "tokenizer_config.json"), "w") as f:
        json.dump({"tokenizer_class": "GPT2Tokenizer", "model_max_length": config.get("n_positions", 256),
                   "bos_token": "<|endoftext|>", "eos_token": "<|endoftext|>", "unk_token": "<|endoftext|>",
                   "add_prefix_space": False}, f, indent=2)
        f.write("\n")

    # transformers must load the directory as lm-eval's `hf` model does.
    model = AutoModelForCausalLM.from_pretrained(OUT, torch_dtype=torch.float32).eval()
    tok = AutoTokenizer.from_pretrained(OUT)
    ids = tok("The old house stood at the end of the lane.", return_tensors="pt").input_ids
    with torch.no_grad():
        loss = model(ids, labels=ids).loss.item()
    print(f"exported {OUT}: {sum(p.numel() for p in model.parameters())} parameters, "
          f"{os.path.getsize(os.path.join(OUT, 'model.safetensors')) / 1e6:.1f} MB, sample loss {loss:.3f}, "
          f"eos {tok.eos_token_id}, bos {tok.bos_token_id}")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--monolith", help="monolith binary to train with")
    ap.add_argument("--checkpoint", help="an existing checkpoint directory to export instead of training")
    args = ap.parse_args()
    if not args.checkpoint and not args.monolith:
        sys.exit("give --monolith (train, then export) or --checkpoint (export only)")
    checkpoint = args.checkpoint or train(args.monolith, tempfile.mkdtemp(prefix="eval-model-"))
    export(checkpoint)


if __name__ == "__main__":
    main()
