#!/usr/bin/env bash
# The planner's "this machine" calibration: predict Monolith's own measured CPU step time for
# gpt2-124m (B=4, T=256) and compare with `monolith bench train`, measured right after on the
# same machine. A benchmark, not a test: run it on a quiet machine. Target: within 20%.
set -euo pipefail
bin=${1:-.build/release/monolith}
predicted=$("$bin" plan --model gpt2-124m --cluster this-machine --global-batch 4 --micro-batch 4 --seq 256 --json \
    | python3 -c 'import json,sys; print(json.load(sys.stdin)["time"]["total"])')
measured=$("$bin" bench train --preset gpt2-124m --batch 4 --seq 256 --steps 5 --json \
    | python3 -c 'import json,sys; print(json.load(sys.stdin)["ms_per_step"] / 1000)')
python3 - "$predicted" "$measured" <<'PY'
import sys
p, m = float(sys.argv[1]), float(sys.argv[2])
err = (p - m) / m
print(f"predicted {p:.3f} s/step, measured {m:.3f} s/step, error {100 * err:+.1f}% ({'within' if abs(err) <= 0.2 else 'outside'} 20%)")
PY
