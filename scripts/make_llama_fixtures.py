#!/usr/bin/env python3
"""Writes the Llama reference fixtures that the Swift tests compare against.

The same contents as scripts/make_gpt2_fixtures.py (ids, targets, logits, loss, param./grad./final.
tensors under Hugging Face names, 10 AdamW steps), produced by transformers' LlamaForCausalLM in
fp32 with eager attention: RMSNorm, rotary embeddings, SwiGLU, grouped-query attention, no biases,
tied and untied embeddings. The metadata's "config" uses Monolith's GPTConfig keys.

Usage: python3 scripts/make_llama_fixtures.py [OUTDIR]   (default Tests/Fixtures/llama)
Needs: pip install torch transformers safetensors
"""
import os
import sys

import torch
from transformers import LlamaConfig, LlamaForCausalLM

sys.path.insert(0, os.path.dirname(__file__))
from make_gpt2_fixtures import record  # noqa: E402

CONFIGS = {
    # GQA 4 query heads over 2 kv heads, tied embeddings, intermediate not a multiple of 16
    "gqa_tied": dict(n_layer=2, n_head=4, kv_heads=2, n_embd=64, intermediate=88, vocab_size=97, n_positions=32,
                     tied=True, theta=10000.0, eps=1e-5, batch=2, seq=16),
    # 6 heads over 2 kv heads (groups of 3), untied lm_head, Llama-3's theta, odd T
    "untied": dict(n_layer=2, n_head=6, kv_heads=2, n_embd=48, intermediate=80, vocab_size=130, n_positions=24,
                   tied=False, theta=500000.0, eps=1e-6, batch=4, seq=11),
    # plain multi-head attention (kv = heads), one layer
    "mha": dict(n_layer=1, n_head=2, kv_heads=2, n_embd=32, intermediate=64, vocab_size=50, n_positions=20,
                tied=True, theta=10000.0, eps=1e-5, batch=2, seq=20),
}


def make(name, c, outdir):
    torch.manual_seed(1234)
    cfg = LlamaConfig(vocab_size=c["vocab_size"], hidden_size=c["n_embd"], intermediate_size=c["intermediate"],
                      num_hidden_layers=c["n_layer"], num_attention_heads=c["n_head"], num_key_value_heads=c["kv_heads"],
                      max_position_embeddings=c["n_positions"], rms_norm_eps=c["eps"], rope_theta=c["theta"],
                      tie_word_embeddings=c["tied"], attention_bias=False, mlp_bias=False, initializer_range=0.02,
                      attn_implementation="eager", bos_token_id=0, eos_token_id=1)
    model = LlamaForCausalLM(cfg).float()
    model.train()
    with torch.no_grad():
        for p in model.parameters():
            p.add_(torch.randn_like(p) * 0.05)
    meta_cfg = dict(architecture="llama", n_layer=c["n_layer"], n_head=c["n_head"], num_key_value_heads=c["kv_heads"],
                    n_embd=c["n_embd"], intermediate_size=c["intermediate"], vocab_size=c["vocab_size"],
                    n_positions=c["n_positions"], rms_norm_eps=c["eps"], rope_theta=c["theta"], tie_word_embeddings=c["tied"])
    record(model, c, meta_cfg, os.path.join(outdir, f"{name}.safetensors"), spread=True)


def main():
    outdir = sys.argv[1] if len(sys.argv) > 1 else os.path.join(os.path.dirname(__file__), "..", "Tests", "Fixtures", "llama")
    os.makedirs(outdir, exist_ok=True)
    torch.set_num_threads(1)
    for name, c in CONFIGS.items():
        make(name, c, outdir)


if __name__ == "__main__":
    main()
