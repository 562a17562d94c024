#!/usr/bin/env python3
"""Compares two `monolith train` output directories: per-step training losses and the validation
losses both logged (metrics.jsonl), and the parameters of the final checkpoint (model.safetensors,
read with numpy).

Usage: compare_runs.py REFERENCE CANDIDATE STEP [TOLERANCE [PARAM_TOLERANCE]]
Prints one line and exits 1 when the losses differ by more than TOLERANCE relative (default 1e-5)
or any parameter differs by more than PARAM_TOLERANCE (default TOLERANCE) times the largest
reference parameter magnitude.
"""
import json
import struct
import sys

import numpy as np


def losses(run, key="loss"):
    out = {}
    for line in open(run + "/metrics.jsonl"):
        row = json.loads(line)
        if key in row:
            out[row["step"]] = row[key]  # a resumed run may repeat steps; the last wins
    return out


def tensors(path):
    blob = open(path, "rb").read()
    n = struct.unpack("<Q", blob[:8])[0]
    header = json.loads(blob[8:8 + n])
    result = {}
    for name, info in header.items():
        if name == "__metadata__":
            continue
        assert info["dtype"] == "F32", f"{path}: {name} is {info['dtype']}, expected F32"
        lo, hi = info["data_offsets"]
        result[name] = np.frombuffer(blob[8 + n + lo:8 + n + hi], dtype=np.float32)
    return result


def main():
    ref, cand, step = sys.argv[1], sys.argv[2], int(sys.argv[3])
    tol = float(sys.argv[4]) if len(sys.argv) > 4 else 1e-5
    param_tol = float(sys.argv[5]) if len(sys.argv) > 5 else tol
    la, lb = losses(ref), losses(cand)
    steps = sorted(la)
    if sorted(lb) != steps:
        print(f"steps differ: reference {steps[:3]}…{steps[-1:]} ({len(steps)}), candidate {sorted(lb)[:3]}… ({len(lb)})")
        return 1
    loss_err = max(abs(la[s] - lb[s]) / max(abs(la[s]), 1e-30) for s in steps)
    # Validation losses at the steps both runs evaluated (a resumed run logs only its own).
    va, vb = losses(ref, "val_loss"), losses(cand, "val_loss")
    both = sorted(set(va) & set(vb))
    if va and not both:
        print(f"no common validation steps: reference {sorted(va)}, candidate {sorted(vb)}")
        return 1
    val_err = max((abs(va[s] - vb[s]) / max(abs(va[s]), 1e-30) for s in both), default=0.0)
    loss_err = max(loss_err, val_err)
    ckpt = f"/checkpoints/step-{step:08d}/model.safetensors"
    pa, pb = tensors(ref + ckpt), tensors(cand + ckpt)
    if sorted(pa) != sorted(pb):
        print(f"tensor names differ: {sorted(set(pa) ^ set(pb))[:5]}")
        return 1
    scale = max(float(np.abs(t).max()) for t in pa.values())
    param_err = max(float(np.abs(pa[k] - pb[k]).max()) for k in pa) / scale
    ok = loss_err <= tol and param_err <= param_tol
    print(f"{len(steps)} steps and {len(both)} validations, loss max rel diff {loss_err:.2e}, final params max diff / max |p| {param_err:.2e}"
          f" (tolerance {tol:g}{'' if param_tol == tol else f', parameters {param_tol:g}'}){'' if ok else ' MISMATCH'}")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
