#!/usr/bin/env python3
"""Reference fixtures for MonolithGGUF: ggml codecs and the GGUF reader, from gguf-py.

Writes, with gguf-py's own GGUFWriter (so the fixture also tests Monolith's reader against
gguf-py's writer):

  Tests/Fixtures/gguf/codecs.gguf
    For each decoded type T in f32 f16 bf16 q4_0 q4_1 q5_0 q5_1 q8_0 q4_k q5_k q6_k:
      T.raw          raw tensor of type T, 2 dimensions (2 rows x 3 blocks; 2 x 48 for plain types):
                     row 0 quantized from random floats where gguf-py can quantize T, else random
                     bytes with sane fp16 scales; row 1 random bytes with sane fp16 scales
      T.expected     F32, gguf.quants.dequantize(T.raw)
      T.edge         1-D raw tensor of 4 blocks whose fp16 scale fields are edge values
                     (subnormals, +/-inf, -0, 65504); plain types get edge values directly
      T.edge_expected
    For each writer type W in f16 bf16 q8_0:
      quant.W.input  F32 floats incl. 0, -0, tiny, huge, ties, inf/NaN where gguf-py defines them
      quant.W.output raw tensor of type W: gguf.quants.quantize(input, W)
    Metadata of every value type (scalars, strings, arrays incl. strings) for the reader tests.

  Tests/Fixtures/gguf/codecs.layout.json
    Byte offsets of every field (from gguf-py's GGUFReader) so the Swift tests can corrupt
    chosen fields of the good file: key, value type, string length, array count, tensor
    dimension / type / offset fields, data section start, file size; every metadata value as
    gguf-py reads it; and gguf-py's GGML_QUANT_SIZES (block and type size of every ggml type).

Run: /work/venv/bin/python scripts/make_gguf_fixtures.py
"""
import json
import os

import numpy as np
import gguf
from gguf import GGMLQuantizationType as T
from gguf import quants

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "Tests", "Fixtures", "gguf")
rng = np.random.default_rng(20250207)

DECODED = [("f32", T.F32), ("f16", T.F16), ("bf16", T.BF16), ("q4_0", T.Q4_0), ("q4_1", T.Q4_1),
           ("q5_0", T.Q5_0), ("q5_1", T.Q5_1), ("q8_0", T.Q8_0), ("q4_k", T.Q4_K), ("q5_k", T.Q5_K),
           ("q6_k", T.Q6_K)]
# Byte offsets of the fp16 scale fields inside one block (ggml-common.h).
HALF_FIELDS = {T.Q4_0: [0], T.Q4_1: [0, 2], T.Q5_0: [0], T.Q5_1: [0, 2], T.Q8_0: [0],
               T.Q4_K: [0, 2], T.Q5_K: [0, 2], T.Q6_K: [208]}
QUANTIZABLE = {T.Q4_0, T.Q4_1, T.Q5_0, T.Q5_1, T.Q8_0}
# Edge values for fp16 scale fields: smallest subnormal, largest subnormal, negative subnormal,
# +inf, -inf, -0, +0, largest finite.
EDGE_HALVES = [0x0001, 0x03FF, 0x8001, 0x7C00, 0xFC00, 0x8000, 0x0000, 0x7BFF]


def sane_halves(n):
    """fp16 bit patterns of modest finite scales of either sign."""
    return (rng.standard_normal(n).astype(np.float32) * 0.02).astype(np.float16).view(np.uint16)


def random_blocks(qtype, n_blocks):
    """Random block bytes with every fp16 field replaced by a sane finite scale."""
    block_size, type_size = gguf.GGML_QUANT_SIZES[qtype]
    raw = rng.integers(0, 256, size=(n_blocks, type_size), dtype=np.uint8)
    for off in HALF_FIELDS[qtype]:
        raw[:, off:off + 2] = sane_halves(n_blocks).view(np.uint8).reshape(n_blocks, 2)
    return raw


def edge_blocks(qtype):
    """4 random blocks whose fp16 fields cycle through EDGE_HALVES."""
    raw = random_blocks(qtype, 4)
    k = 0
    for b in range(4):
        for off in HALF_FIELDS[qtype]:
            raw[b, off:off + 2] = np.array([EDGE_HALVES[k % len(EDGE_HALVES)]], dtype=np.uint16).view(np.uint8)
            k += 1
    # One all-zero code block with a -0 scale gives -0 * 0 products.
    raw[3, :] = 0
    raw[3, HALF_FIELDS[qtype][0]:HALF_FIELDS[qtype][0] + 2] = np.array([0x8000], dtype=np.uint16).view(np.uint8)
    return raw


def bits32(values):
    return np.array(values, dtype=np.uint32).view(np.float32)


# Float32 values at the edges of fp16 / bf16 conversion.
EDGE_FLOATS = np.concatenate([
    np.array([0.0, -0.0, 1.0, -1.0, 65504.0, 65519.996, 65520.0, -65520.0, 1e38, -1e38, 3.4028235e38,
              np.inf, -np.inf, 6.1035156e-05, 6.097555e-05, 5.9604645e-08, 2.9802322e-08, 2.98024e-08,
              8.940697e-08, 1e-10, -1e-10, 1e-45, -1e-45, 1.1754944e-38,
              1 + 2.0 ** -11, 1 + 3 * 2.0 ** -11, 1 + 2.0 ** -8, 1 + 3 * 2.0 ** -8, 1 + 2.0 ** -8 + 2.0 ** -20,
              2049.0, 2051.0, 0.1, -0.3, 3.14159265], dtype=np.float32),
    bits32([0x7FC00000, 0xFFC00000, 0x7F800001, 0x7FA00000, 0x7F802000, 0x7FFFFFFF, 0xFF812345,
            0x7F7FFFFF, 0x3F808000, 0x3F818000, 0x00000001, 0x807FFFFF]),
])


def raw_case(qtype):
    """(raw, expected) for a 2-row tensor of 3 blocks per row, and the edge tensor."""
    block_size, type_size = gguf.GGML_QUANT_SIZES[qtype]
    if qtype in (T.F32, T.F16, T.BF16):
        n = 48
        x = (rng.standard_normal((2, n)) * np.float32(10.0) ** rng.integers(-6, 5, size=(2, n))).astype(np.float32)
        if qtype == T.F32:
            raw = x
        elif qtype == T.F16:
            raw = rng.integers(0, 1 << 16, size=(2, n), dtype=np.uint16).view(np.float16)
            raw[0] = x[0].astype(np.float16)
        else:
            raw = quants.quantize(x, T.BF16)
            raw[1] = rng.integers(0, 256, size=2 * n, dtype=np.uint8)
        edge = EDGE_FLOATS if qtype == T.F32 else None
        if qtype == T.F16:
            edge = np.array([0x0000, 0x8000, 0x0001, 0x8001, 0x03FF, 0x0400, 0x7BFF, 0xFBFF, 0x7C00, 0xFC00,
                             0x7C01, 0x7E00, 0xFE00, 0x7D00, 0x7FFF, 0x3C00], dtype=np.uint16).view(np.float16)
        if qtype == T.BF16:
            edge = np.array([0x0000, 0x8000, 0x0001, 0x8001, 0x007F, 0x0080, 0x7F7F, 0xFF7F, 0x7F80, 0xFF80,
                             0x7F81, 0x7FC0, 0xFFC0, 0x7FFF, 0x3F80, 0xC049], dtype=np.uint16).view(np.uint8)
        return raw, edge
    n_blocks = 3
    rows = []
    if qtype in QUANTIZABLE:
        x = (rng.standard_normal(n_blocks * block_size) * 0.05).astype(np.float32)
        x[:5] = [0.0, -0.0, 0.3, -0.3, 1e-6]
        rows.append(quants.quantize(x, qtype).reshape(1, -1))
    else:
        rows.append(random_blocks(qtype, n_blocks).reshape(1, -1))
    rows.append(random_blocks(qtype, n_blocks).reshape(1, -1))
    return np.concatenate(rows, axis=0), edge_blocks(qtype).reshape(-1)


def quant_inputs(qtype):
    if qtype in (T.F16, T.BF16):
        x = (rng.standard_normal(96) * np.float32(10.0) ** rng.integers(-9, 7, size=96)).astype(np.float32)
        return np.concatenate([EDGE_FLOATS, x]).astype(np.float32)
    # Q8_0: blocks of 32; no inf or NaN (undefined in the reference), max|x| >= ~1e-36 so 1/d is finite.
    blocks = [
        rng.standard_normal(32) * 0.02,
        rng.standard_normal(32) * 3.0,
        rng.standard_normal(32) * 1e4,
        np.zeros(32),
        np.where(np.arange(32) % 2 == 0, -0.0, 0.0),
        rng.standard_normal(32) * 1e-30,
        rng.standard_normal(32) * 1e37,
        # max|x| = 127 gives d = 1, id = 1: exact ties round away from zero.
        np.array([127.0, -127.0, 0.5, -0.5, 1.5, -1.5, 2.5, -2.5, 126.5, -126.5] + list(rng.uniform(-127, 127, 22))),
        rng.uniform(60000, 70000, 32) * np.sign(rng.standard_normal(32)),
    ]
    return np.concatenate(blocks).astype(np.float32)


def render(value, vtype):
    """A metadata value as a string the Swift test parses exactly: integers in decimal, floats as
    the hex bit pattern of their stored width, bools as true/false, strings as themselves."""
    if vtype == gguf.GGUFValueType.FLOAT32:
        return "0x%08x" % int(np.float32(value).view(np.uint32))
    if vtype == gguf.GGUFValueType.FLOAT64:
        return "0x%016x" % int(np.float64(value).view(np.uint64))
    if vtype == gguf.GGUFValueType.BOOL:
        return "true" if value else "false"
    if vtype == gguf.GGUFValueType.STRING:
        return value
    return str(int(value))


def main():
    os.makedirs(ROOT, exist_ok=True)
    path = os.path.join(ROOT, "codecs.gguf")
    w = gguf.GGUFWriter(path, arch="monolith-test")
    # One key of every value type, for the reader's metadata tests.
    w.add_uint8("test.u8", 200)
    w.add_int8("test.i8", -100)
    w.add_uint16("test.u16", 60000)
    w.add_int16("test.i16", -30000)
    w.add_uint32("test.u32", 4000000000)
    w.add_int32("test.i32", -2000000000)
    w.add_uint64("test.u64", 18000000000000000000)
    w.add_int64("test.i64", -9000000000000000000)
    w.add_float32("test.f32", 0.1)
    w.add_float64("test.f64", 0.1)
    w.add_bool("test.bool_true", True)
    w.add_bool("test.bool_false", False)
    w.add_string("test.string", "héllo wörld ✓")
    w.add_array("test.strings", ["a", "", "Ġt", "<|im_end|>", "日本"])
    w.add_array("test.ints", [1, -2, 3])
    w.add_key_value("test.floats", [0.5, -1.25, 1e-3], gguf.GGUFValueType.ARRAY, sub_type=gguf.GGUFValueType.FLOAT32)
    w.add_key_value("test.u8s", [0, 1, 255], gguf.GGUFValueType.ARRAY, sub_type=gguf.GGUFValueType.UINT8)
    w.add_key_value("test.bools", [True, False, True], gguf.GGUFValueType.ARRAY, sub_type=gguf.GGUFValueType.BOOL)
    # Two keys of equal length, so a test can patch one into a duplicate of the other.
    w.add_string("test.dup_a", "first")
    w.add_string("test.dup_b", "second")

    with np.errstate(all="ignore"):
        for name, qtype in DECODED:
            raw, edge = raw_case(qtype)
            rd = None if qtype in (T.F32, T.F16) else qtype
            w.add_tensor(f"{name}.raw", raw, raw_dtype=rd)
            w.add_tensor(f"{name}.expected", quants.dequantize(raw, qtype).astype(np.float32, copy=False))
            w.add_tensor(f"{name}.edge", edge, raw_dtype=rd)
            w.add_tensor(f"{name}.edge_expected", quants.dequantize(edge, qtype).astype(np.float32, copy=False))
        for name, qtype in [("f16", T.F16), ("bf16", T.BF16), ("q8_0", T.Q8_0)]:
            x = quant_inputs(qtype)
            y = quants.quantize(x, qtype)
            w.add_tensor(f"quant.{name}.input", x)
            w.add_tensor(f"quant.{name}.output", y, raw_dtype=None if qtype == T.F16 else qtype)

    w.write_header_to_file()
    w.write_kv_data_to_file()
    w.write_tensors_to_file()
    w.close()

    # Offsets of every field, from gguf-py's reader, for the corruption tests.
    r = gguf.GGUFReader(path)
    fields = []
    for key, f in r.fields.items():
        if key.startswith("GGUF."):
            continue
        type_offset = f.offset + 8 + len(key.encode())
        entry = {"key": key, "offset": f.offset, "type_offset": type_offset, "type": f.types[0].name}
        if f.types[0] == gguf.GGUFValueType.STRING:
            entry["length_offset"] = type_offset + 4
        if f.types[0] == gguf.GGUFValueType.ARRAY:
            entry["count_offset"] = type_offset + 8
        if f.types[0] == gguf.GGUFValueType.ARRAY:
            entry["element_type"] = f.types[-1].name
            entry["value"] = [render(v, f.types[-1]) for v in f.contents()]
        else:
            entry["value"] = render(f.contents(), f.types[0])
        fields.append(entry)
    tensors = []
    for t in r.tensors:
        off = t.field.offset
        name_len = len(t.name.encode())
        n_dims = len(t.shape)
        tensors.append({"name": t.name, "offset": off, "type": t.tensor_type.name,
                        "dims_offset": off + 8 + name_len + 4, "n_dims": n_dims,
                        "type_offset": off + 8 + name_len + 4 + 8 * n_dims,
                        "data_offset_offset": off + 8 + name_len + 4 + 8 * n_dims + 4,
                        "data_offset": t.data_offset - r.data_offset, "n_bytes": int(t.n_bytes),
                        "dims": [int(d) for d in t.shape]})
    ggml_types = [{"name": t.name, "value": int(t), "block_size": b, "type_size": ts}
                  for t, (b, ts) in gguf.GGML_QUANT_SIZES.items()]
    layout = {"fields": fields, "tensors": tensors, "data_offset": r.data_offset, "ggml_types": ggml_types,
              "file_size": os.path.getsize(path), "alignment": int(r.alignment)}
    with open(os.path.join(ROOT, "codecs.layout.json"), "w") as f:
        json.dump(layout, f, indent=1)
        f.write("\n")
    print(f"wrote {path} ({os.path.getsize(path)} bytes, {len(r.tensors)} tensors, {len(fields)} keys)")


if __name__ == "__main__":
    main()
