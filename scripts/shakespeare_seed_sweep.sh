#!/usr/bin/env bash
# The shakespeare-char preset's final validation loss (whole split) over several seeds: the spread
# that a single run's number sits in. Seed s uses --training.seed s (initial weights) and
# --data.seed s+100 (batch order). Prints one line per seed, then the mean and how many reach 1.89.
#
# Usage: scripts/shakespeare_seed_sweep.sh [SEEDS (default 8)] [path/to/monolith]
set -euo pipefail
cd "$(dirname "$0")/.."
n=${1:-8}; bin=${2:-.build/release/monolith}
corpus=../shared/data/tinyshakespeare/input.txt
work=$(mktemp -d /tmp/monolith-seed-sweep.XXXXXX)
trap 'rm -rf "$work"' EXIT
for s in $(seq 1 "$n"); do
    "$bin" train --preset shakespeare-char --data.paths "$corpus" --training.seed "$s" --data.seed $((s + 100)) \
        --training.sample_tokens 0 --logging.out_dir "$work/$s" --logging.progress none --logging.tensorboard false \
        --logging.plot false >"$work/$s.log" 2>&1
    v=$(grep -o 'validation loss [0-9.]* ([0-9]* batches, the whole split)' "$work/$s.log" | tail -1 | awk '{print $3}')
    echo "seed $s: validation loss $v (whole split)"
done | tee "$work/all"
awk '{v=$5; sum+=v; n+=1; if (v <= 1.89) k+=1} END {printf "mean %.4f over %d seeds; %d of %d at or below 1.89\n", sum/n, n, k, n}' "$work/all"
