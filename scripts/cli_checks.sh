#!/usr/bin/env bash
# End-to-end checks of the `monolith` binary: bad input fails loudly, the fast path is automatic,
# and a short training run really learns. Prints 'N passed, 0 failed' on success.
set -uo pipefail
bin=${1:-.build/release/monolith}
shared="$(cd "$(dirname "$0")/../.." && pwd)/shared"
passed=0; failed=0
check() { # name, expected exit (0 or nonzero), grep pattern for output, command...
    local name=$1 want=$2 pattern=$3; shift 3
    local out rc
    out=$("$@" 2>&1); rc=$?
    if { [ "$want" = 0 ] && [ $rc -ne 0 ]; } || { [ "$want" != 0 ] && [ $rc -eq 0 ]; } || ! grep -qE -- "$pattern" <<<"$out"; then
        echo "FAIL: $name (exit $rc)"; echo "$out" | tail -5 | sed 's/^/    /'; failed=$((failed + 1))
    else
        echo "ok: $name"; passed=$((passed + 1))
    fi
}
check "unknown preset is rejected" 1 "unknown preset 'gpt5'" "$bin" bench train --preset gpt5 --steps 1
check "T beyond the context names the field" 1 "seq.*context" "$bin" bench train --preset tiny --seq 2048 --steps 1
check "zero batch names the field" 1 "batch.*positive" "$bin" bench train --preset tiny --batch 0 --steps 1
check "a batch that cannot fit is refused" 1 "needs about .* GiB" "$bin" bench train --preset gpt2-124m --batch 4096 --seq 1024 --steps 1
check "n_embd not divisible by n_head" 1 "n_embd.*not divisible by n_head" "$bin" demo --width 100 --heads 3 --steps 1
check "non-UTF-8 text is rejected" 1 "not valid UTF-8" "$bin" demo --text "$shared/data/gutenberg/chesterton-ball.txt" --steps 1
check "OpenBLAS runs its AVX-512/AVX2 kernels without user set-up" 0 "(SkylakeX|Haswell|Zen|Cooperlake|blis)" \
    env -u OPENBLAS_CORETYPE "$bin" bench gemm --reps 1 --rows 128 --width 64 --vocab 512
# A short demo run must sample, and its loss must fall by over half a nat (from ~ln(vocab) = 2.8).
out=$("$bin" demo --steps 100 --batch 8 --seq 32 --layers 2 --width 64 --sample-length 20 2>&1)
first=$(grep -m1 -oE 'loss [0-9.]+' <<<"$out" | awk '{print $2}'); last=$(grep -oE 'loss [0-9.]+' <<<"$out" | tail -1 | awk '{print $2}')
if grep -q "sample:" <<<"$out" && awk -v a="$first" -v b="$last" 'BEGIN { exit !(a - b > 0.5) }'; then
    echo "ok: demo loss falls ($first -> $last)"; passed=$((passed + 1))
else
    echo "FAIL: demo loss did not fall enough ($first -> $last)"; failed=$((failed + 1))
fi
echo "cli: $passed passed, $failed failed"
[ $failed -eq 0 ]
