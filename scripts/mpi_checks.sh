#!/usr/bin/env bash
# Checks of the communication layer under real Open MPI: `monolith comm selftest` on 1, 2 and 4
# ranks for several (tp, pp, dp) grids, bad layouts, and the timeout path (a rank that skips a
# collective must end the job quickly with an error naming it). Prints 'N passed, M failed'.
#
# Usage: scripts/mpi_checks.sh [path/to/monolith]   (default .build/release/monolith)
set -uo pipefail
bin=${1:-.build/release/monolith}
if ! command -v mpirun >/dev/null; then echo "mpi_checks: mpirun not found (apt-get install openmpi-bin libopenmpi-dev)" >&2; exit 1; fi
# Containers run as root and often refuse cross-process memory attach; 4 ranks on 2 cores need
# oversubscription.
mpi=(mpirun --allow-run-as-root --oversubscribe --mca btl_vader_single_copy_mechanism none)
passed=0; failed=0

# name, expected exit (0 or nonzero), grep -E pattern for the output, max seconds, command...
check() {
    local name=$1 want=$2 pattern=$3 limit=$4; shift 4
    local out rc start elapsed
    start=$(date +%s)
    # The outer timeout is a backstop: a hang must fail this script, not stall CI.
    out=$(timeout 120 "$@" 2>&1); rc=$?
    elapsed=$(( $(date +%s) - start ))
    if { [ "$want" = 0 ] && [ $rc -ne 0 ]; } || { [ "$want" != 0 ] && [ $rc -eq 0 ]; } \
        || ! grep -qE -- "$pattern" <<<"$out" || [ "$elapsed" -gt "$limit" ]; then
        echo "FAIL: $name (exit $rc, ${elapsed}s)"; echo "$out" | tail -8 | sed 's/^/    /'; failed=$((failed + 1))
    else
        echo "ok: $name (${elapsed}s)"; passed=$((passed + 1))
    fi
}

ok='comm selftest: [0-9]+ passed, 0 failed'
check "world of 1 without mpirun" 0 "$ok on 1 rank" 30 "$bin" comm selftest
for grid in "--tp 2" "--pp 2" "--dp 2"; do
    # shellcheck disable=SC2086
    check "selftest -np 2 $grid" 0 "$ok on 2 ranks" 60 "${mpi[@]}" -np 2 "$bin" comm selftest $grid
done
for grid in "--tp 2 --pp 2" "--tp 2 --dp 2" "--pp 2 --dp 2" "--tp 4" "--pp 4" "--dp 4"; do
    # shellcheck disable=SC2086
    check "selftest -np 4 $grid" 0 "$ok on 4 ranks" 90 "${mpi[@]}" -np 4 "$bin" comm selftest $grid
done
check "selftest with timeouts off (plain blocking MPI)" 0 "$ok on 4 ranks" 90 \
    env MONOLITH_COMM_TIMEOUT=0 "${mpi[@]}" -x MONOLITH_COMM_TIMEOUT -np 4 "$bin" comm selftest --tp 2 --pp 2

# Bad layouts end every rank with the constraint, not a hang.
check "grid larger than the world is refused" 1 "world size % \(tp · pp\) == 0" 60 \
    "${mpi[@]}" -np 2 "$bin" comm selftest --tp 4
check "explicit dp that does not match the world is refused" 1 "tp · pp · dp == world size" 60 \
    "${mpi[@]}" -np 4 "$bin" comm selftest --tp 2 --dp 1

# A rank that skips a collective: the others abort after the 2 s timeout, naming it.
check "hang-test on the world names rank 1" 1 \
    "communication timeout after 2 s: allReduce\(sum\) of 1024 Float #[0-9]+ on world: did not arrive: world rank 1$" 30 \
    "${mpi[@]}" -np 2 "$bin" comm hang-test --timeout 2
check "hang-test in a dp sub-group names the group and rank 1" 1 \
    "allReduce\(sum\) of 1024 Float #[0-9]+ on dp group of world ranks \[1, 3\]: did not arrive: world rank 1$" 30 \
    "${mpi[@]}" -np 4 "$bin" comm hang-test --timeout 2 --group dp --tp 2
check "hang-test in a pp sub-group" 1 \
    "on pp group of world ranks \[1, 3\]: did not arrive: world rank 1$" 30 \
    "${mpi[@]}" -np 4 "$bin" comm hang-test --timeout 2 --group pp --tp 2 --pp 2

echo "mpi: $passed passed, $failed failed"
[ $failed -eq 0 ]
