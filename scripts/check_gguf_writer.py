#!/usr/bin/env python3
"""Reads a GGUF file written by Monolith's GGUFWriter with gguf-py's GGUFReader and checks it.

The file comes from the Swift test "GGUF writer / the round-trip file is left for gguf-py":

  MONOLITH_GGUF_WRITER_OUT=/tmp/monolith.gguf \\
    swift test -c release -Xswiftc -enable-testing --skip-build --scratch-path .build-gguf --filter GGUFWriterTests
  /work/venv/bin/python scripts/check_gguf_writer.py /tmp/monolith.gguf

which also leaves PATH.json describing what was written. Checks:
  - every metadata key, in order, with its type and value (floats compared bit for bit);
  - every tensor's name, type and dimensions (ggml order);
  - the F16, BF16 and Q8_0 tensors equal gguf.quants.quantize of the F32 tensor, byte for byte
    (an independent check of Monolith's encoders);
  - tensors copied as encoded bytes equal their source in Tests/Fixtures/gguf/codecs.gguf;
  - offsets are contiguous and aligned, as llama.cpp's loader requires.
Exits non-zero on the first class of failure, printing every mismatch.
"""
import json
import os
import sys

import numpy as np
import gguf
from gguf import GGUFValueType as V
from gguf import quants

FIXTURE = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "Tests", "Fixtures", "gguf", "codecs.gguf")


def render(value, vtype):
    """As scripts/make_gguf_fixtures.py: integers in decimal, floats as hex bit patterns."""
    if vtype == V.FLOAT32:
        return "0x%08x" % int(np.float32(value).view(np.uint32))
    if vtype == V.FLOAT64:
        return "0x%016x" % int(np.float64(value).view(np.uint64))
    if vtype == V.BOOL:
        return "true" if value else "false"
    if vtype == V.STRING:
        return value
    return str(int(value))


def main():
    if len(sys.argv) != 2:
        sys.exit(f"usage: {sys.argv[0]} MONOLITH_WRITTEN.gguf")
    path = sys.argv[1]
    with open(path + ".json") as f:
        spec = json.load(f)
    r = gguf.GGUFReader(path)
    errors = []

    fields = [(k, f) for k, f in r.fields.items() if not k.startswith("GGUF.")]
    if [k for k, _ in fields] != [m["key"] for m in spec["metadata"]]:
        errors.append(f"keys {[k for k, _ in fields]} != {[m['key'] for m in spec['metadata']]}")
    for (key, f), want in zip(fields, spec["metadata"]):
        if f.types[0].name != want["type"]:
            errors.append(f"{key}: type {f.types[0].name} != {want['type']}")
            continue
        if f.types[0] == V.ARRAY:
            if len(want["value"]) == 0:
                # gguf-py reports an empty array without an element type; check the raw header.
                item_type, count = int(f.parts[3][0]), int(f.parts[4][0])
                got_type, got = V(item_type).name, [] if count == 0 else ["?"] * count
            else:
                got_type = f.types[-1].name
                got = [render(v, f.types[-1]) for v in f.contents()]
            if got_type != want["element_type"] or got != want["value"]:
                errors.append(f"{key}: {got_type} {got} != {want['element_type']} {want['value']}")
        else:
            got = render(f.contents(), f.types[0])
            if got != want["value"]:
                errors.append(f"{key}: {got!r} != {want['value']!r}")

    tensors = {t.name: t for t in r.tensors}
    if [t.name for t in r.tensors] != [t["name"] for t in spec["tensors"]]:
        errors.append(f"tensor names {[t.name for t in r.tensors]} != {[t['name'] for t in spec['tensors']]}")
    for want in spec["tensors"]:
        t = tensors.get(want["name"])
        if t is None:
            continue
        if t.tensor_type.name != want["type"] or [int(d) for d in t.shape] != want["dims"]:
            errors.append(f"{t.name}: {t.tensor_type.name} {list(t.shape)} != {want['type']} {want['dims']}")

    expected_offset = 0
    for t in r.tensors:
        rel = t.data_offset - r.data_offset
        if rel != expected_offset or t.data_offset % r.alignment:
            errors.append(f"{t.name}: data offset {rel}, expected {expected_offset} (alignment {r.alignment})")
        expected_offset += (t.n_bytes + r.alignment - 1) // r.alignment * r.alignment

    source = np.array(tensors[spec["float_source"]].data, dtype=np.float32).reshape(-1)
    checked = 0
    for t in r.tensors:
        if t.tensor_type in (gguf.GGMLQuantizationType.F16, gguf.GGMLQuantizationType.BF16, gguf.GGMLQuantizationType.Q8_0):
            with np.errstate(all="ignore"):
                want = np.ascontiguousarray(quants.quantize(source, t.tensor_type)).view(np.uint8).reshape(-1)
            got = np.ascontiguousarray(t.data).view(np.uint8).reshape(-1)
            if got.shape != want.shape or not np.array_equal(got, want):
                bad = np.flatnonzero(got != want) if got.shape == want.shape else []
                errors.append(f"{t.name}: bytes differ from gguf.quants.quantize ({len(bad)} bytes, first at {bad[:1]})")
            checked += 1
    fixture = gguf.GGUFReader(FIXTURE)
    for name, src in spec["encoded_source"].items():
        want = next(t for t in fixture.tensors if t.name == src).data.reshape(-1)
        if not np.array_equal(np.asarray(tensors[name].data).reshape(-1), want):
            errors.append(f"{name}: bytes differ from codecs.gguf:{src}")

    for e in errors:
        print("MISMATCH", e)
    if errors:
        sys.exit(1)
    print(f"ok: {len(fields)} keys, {len(r.tensors)} tensors; {checked} encoded tensors equal gguf.quants.quantize; "
          f"offsets contiguous, alignment {r.alignment}")


if __name__ == "__main__":
    main()
