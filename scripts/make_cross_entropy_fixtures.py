#!/usr/bin/env python3
"""Writes Tests/Fixtures/kernels/cross_entropy.json: fused softmax cross-entropy in float64 (numpy)
for the Swift kernel's tests.

Each case has `rows` rows of `stride` float32 logits of which the first `vocab` are the vocabulary
(the rest is padding, set to 50 so that a leak into the softmax shows), targets (-1 = ignored row),
and a gradient scale. The reference, computed in float64 from the float32 logits:
  lse[r]    = log(sum(exp(logits[r, :vocab])))          (max-subtracted)
  losses[r] = lse[r] - logits[r, target] (0 for ignored rows); sum and count over the others
  grad[r]   = scale * (softmax(logits[r, :vocab]) - onehot(target)), 0 on padding and ignored rows
Vocabulary sizes straddle the SIMD width (16); "huge" has logits up to 3900, where an
unstabilized exp overflows.

Usage: python3 scripts/make_cross_entropy_fixtures.py   (needs numpy)
"""
import json
import os

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
OUT = os.path.join(HERE, "..", "Tests", "Fixtures", "kernels", "cross_entropy.json")


def reference(logits, targets, vocab, stride, scale):
    rows = len(targets)
    x = logits.reshape(rows, stride)[:, :vocab].astype(np.float64)
    m = x.max(axis=1, keepdims=True)
    lse = (m + np.log(np.exp(x - m).sum(axis=1, keepdims=True)))[:, 0]
    softmax = np.exp(x - lse[:, None])
    losses = np.zeros(rows)
    grad = np.zeros((rows, stride))
    for r, t in enumerate(targets):
        if t < 0:
            continue
        losses[r] = lse[r] - x[r, t]
        g = softmax[r].copy()
        g[t] -= 1
        grad[r, :vocab] = scale * g
    kept = [r for r, t in enumerate(targets) if t >= 0]
    return dict(lse=lse.tolist(), losses=losses.tolist(), sum=float(losses[kept].sum()), count=len(kept),
                grad=grad.reshape(-1).tolist())


def case(name, logits, targets, vocab, stride, scale):
    logits = np.asarray(logits, dtype=np.float32)
    out = dict(name=name, rows=len(targets), vocab=vocab, stride=stride, scale=scale,
               logits=[float(v) for v in logits], targets=[int(t) for t in targets])
    out.update(reference(logits, targets, vocab, stride, scale))
    return out


def main():
    rng = np.random.default_rng(60)
    cases = []
    for vocab in [1, 13, 16, 40, 64, 77]:
        for padding in [0, 3]:
            rows, stride = 7, vocab + padding
            logits = rng.uniform(-3, 3, size=(rows, stride)).astype(np.float32)
            logits[:, vocab:] = 50
            targets = [-1 if r in (2, 5) else int(rng.integers(0, vocab)) for r in range(rows)]
            cases.append(case(f"vocab {vocab}, padding {padding}", logits.reshape(-1), targets, vocab, stride, 1.7))
    cases.append(case("huge logits", np.arange(40) * 100.0, [7], 40, 40, 1.0))
    os.makedirs(os.path.dirname(OUT), exist_ok=True)
    with open(OUT, "w") as f:
        json.dump(dict(source="scripts/make_cross_entropy_fixtures.py (numpy float64)", cases=cases), f)
        f.write("\n")
    print(f"wrote {len(cases)} cases to {os.path.relpath(OUT)}")


if __name__ == "__main__":
    main()
