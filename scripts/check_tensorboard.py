#!/usr/bin/env python3
"""Reads a Monolith run's TensorBoard event files with TensorBoard's own loader and prints the
scalars it finds, failing if any expected tag is missing or a record is corrupt.

Usage: python3 scripts/check_tensorboard.py RUN_DIR/tensorboard    Needs: pip install tensorboard
"""
import sys

from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

EXPECTED = ["train/loss", "train/lr", "train/grad_norm", "train/tokens_per_second", "val/loss"]


def main():
    acc = EventAccumulator(sys.argv[1])
    acc.Reload()
    tags = acc.Tags()["scalars"]
    missing = [t for t in EXPECTED if t not in tags]
    for t in EXPECTED:
        if t in tags:
            ev = acc.Scalars(t)
            print(f"{t}: {len(ev)} points, steps {ev[0].step}..{ev[-1].step}, last {ev[-1].value:.4f}")
    passed = len(EXPECTED) - len(missing)
    print(f"{passed} passed, {len(missing)} failed" + (f" (missing: {missing})" if missing else ""))
    sys.exit(1 if missing else 0)


if __name__ == "__main__":
    main()
