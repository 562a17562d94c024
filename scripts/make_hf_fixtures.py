#!/usr/bin/env python3
"""Writes Hugging Face model directories and transformers' outputs for the interop tests.

Tests/Fixtures/hf/
  fp32/, fp16/, bf16/   GPT2LMHeadModel.save_pretrained (config.json + model.safetensors) of one
                        tiny random model, in three dtypes
  expected.safetensors  ids [2, 20]; logits_fp32/fp16/bf16 (each dtype's weights, computed in fp32);
                        greedy_prompt [1, 8] and greedy_output (transformers generate, do_sample=False,
                        24 new tokens, fp32 model); ppl_tokens [150] and, per (context, stride) in
                        CASES, ppl_<context>_<stride> = [mean NLL, perplexity] by the sliding-window
                        recipe of the transformers perplexity guide.

Usage: python3 scripts/make_hf_fixtures.py [OUTDIR]   Needs: pip install torch transformers safetensors
"""
import os
import sys

import torch
from safetensors.torch import save_file
from transformers import GPT2Config, GPT2LMHeadModel

CASES = [(64, 64), (64, 32), (40, 16)]


def sliding_window_nll(model, tokens, context, stride):
    """The transformers documentation's strided perplexity loop (labels -100 = not scored)."""
    seq_len = tokens.size(1)
    nll_sum, n_tokens, prev_end = 0.0, 0, 0
    for begin in range(0, seq_len, stride):
        end = min(begin + context, seq_len)
        trg_len = end - prev_end
        input_ids = tokens[:, begin:end]
        target_ids = input_ids.clone()
        target_ids[:, :-trg_len] = -100
        with torch.no_grad():
            loss = model(input_ids, labels=target_ids).loss
        num_valid = (target_ids != -100).sum().item()
        num_loss_tokens = num_valid - target_ids.size(0)  # labels are shifted inside the model
        nll_sum += loss.item() * num_loss_tokens
        n_tokens += num_loss_tokens
        prev_end = end
        if end == seq_len:
            break
    mean = nll_sum / n_tokens
    return mean, float(torch.exp(torch.tensor(mean)))


def main():
    out = sys.argv[1] if len(sys.argv) > 1 else os.path.join(os.path.dirname(__file__), "..", "Tests", "Fixtures", "hf")
    torch.manual_seed(7)
    torch.set_num_threads(1)
    cfg = GPT2Config(n_layer=2, n_head=2, n_embd=32, vocab_size=97, n_positions=64, resid_pdrop=0.0,
                     embd_pdrop=0.0, attn_pdrop=0.0, bos_token_id=96, eos_token_id=96)
    model = GPT2LMHeadModel(cfg).eval()
    with torch.no_grad():
        for p in model.parameters():
            p.add_(torch.randn_like(p) * 0.1)
    expected = {}
    ids = torch.randint(0, 97, (2, 20))
    expected["ids"] = ids.int()
    for name, dtype in [("fp32", torch.float32), ("fp16", torch.float16), ("bf16", torch.bfloat16)]:
        d = os.path.join(out, name)
        m = GPT2LMHeadModel(cfg).eval()
        m.load_state_dict(model.state_dict())
        m.to(dtype).save_pretrained(d, safe_serialization=True)
        reloaded = GPT2LMHeadModel.from_pretrained(d).float().eval()
        with torch.no_grad():
            expected["logits_" + name] = reloaded(ids).logits.contiguous()
    prompt = torch.randint(0, 96, (1, 8))
    model.generation_config.eos_token_id = None
    model.generation_config.pad_token_id = 0
    with torch.no_grad():
        gen = model.generate(prompt, max_new_tokens=24, do_sample=False)
    expected["greedy_prompt"] = prompt.int()
    expected["greedy_output"] = gen.int()
    tokens = torch.randint(0, 97, (1, 150))
    expected["ppl_tokens"] = tokens[0].int()
    for context, stride in CASES:
        mean, ppl = sliding_window_nll(model, tokens, context, stride)
        expected[f"ppl_{context}_{stride}"] = torch.tensor([mean, ppl], dtype=torch.float64)
        print(f"context {context} stride {stride}: mean NLL {mean:.6f}, perplexity {ppl:.4f}")
    save_file({k: v.contiguous() for k, v in expected.items()}, os.path.join(out, "expected.safetensors"))
    print("greedy:", gen[0].tolist())


if __name__ == "__main__":
    main()
