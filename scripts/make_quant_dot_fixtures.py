#!/usr/bin/env python3
"""Reference fixtures for MonolithGGUF's quantized matrix-vector products (QuantizedMatrix).

llama.cpp's CPU backend multiplies a quantized weight matrix by activations that it first
quantizes to 8 bits per 32-element block (`vec_dot_type`): Q4_0 and Q8_0 weights take Q8_0
activations, Q4_1 weights take Q8_1 activations. Each dot product is then a sum over blocks of an
integer dot product times fp16 scales:

  Q4_0 x Q8_0:  sum_b d_w * d_x * sum_j (q_w[j] - 8) * q_x[j]      (ggml_vec_dot_q4_0_q8_0)
  Q4_1 x Q8_1:  sum_b d_w * d_x * sum_j q_w[j] * q_x[j] + m_w * s_x (ggml_vec_dot_q4_1_q8_1)
  Q8_0 x Q8_0:  sum_b d_w * d_x * sum_j q_w[j] * q_x[j]            (ggml_vec_dot_q8_0_q8_0)

Activation quantization is the one the x86 (AVX/AVX2/AVX-512) build of llama.cpp runs,
`quantize_row_q8_0` / `quantize_row_q8_1` in ggml-cpu/arch/x86/quants.c, per block of 32:

  amax = max |x|,  d = amax / 127,  id = 127 / amax (0 if amax == 0),
  q = round-half-to-even(x * id)       (_mm256_round_ps with _MM_ROUND_NEAREST),
  stored d = fp16(d); Q8_1 also s = fp16(d * sum(q)) with the unrounded fp32 d.

It differs from gguf-py's Q8_0 (ggml's `quantize_row_q8_0_ref`: id = 1/d, round half away from
zero) only when x * id falls on or within an ulp of a half: the "edge" vectors below include exact
ties to pin the choice; the script reports how many codes of the random vectors differ from
gguf-py's. gguf-py has no Q8_1 codec, so both are implemented here in NumPy float32 arithmetic,
which rounds each operation like the C code.

Weights come from gguf-py: `gguf.quants.quantize` of random normal floats ("main" case) and
random block bytes with sane fp16 scales, covering every code incl. Q8_0's -128 ("edge" case).
Expected outputs sum the integer block products exactly and scale them in float64.

Checked once against llama.cpp itself (its libggml-cpu, through ctypes: the type traits'
`from_float` and `vec_dot`): the codes and fp16 d, s are bit-exact, and its dot products agree with
the expected outputs to 3e-7 of max |y| (fp32 accumulation).

Writes Tests/Fixtures/gguf/quant_dot.gguf (gguf-py's writer), for case C in main, edge:
  x.C                 F32 [nb, cols]   activations
  xq.codes.C          I8  [nb, cols]   their Q8_0/Q8_1 codes (identical for both types)
  xq.d.C, xq.s.C      F16 [nb, cols/32] fp16 scale d and Q8_1 sum s of each block
  w.T.C               raw T [rows, cols] for T in q4_0 q4_1 q8_0
  y.T.C               F64 [nb, rows]   expected W x for each of the nb vectors

Run: /work/venv/bin/python scripts/make_quant_dot_fixtures.py
"""
import os

import numpy as np
import gguf
from gguf import GGMLQuantizationType as T
from gguf import quants

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "Tests", "Fixtures", "gguf")
rng = np.random.default_rng(20250321)

TYPES = [("q4_0", T.Q4_0), ("q4_1", T.Q4_1), ("q8_0", T.Q8_0)]
# Byte offsets of the fp16 fields inside one weight block (ggml-common.h).
HALF_FIELDS = {T.Q4_0: [0], T.Q4_1: [0, 2], T.Q8_0: [0]}


def quantize_activations(x):
    """llama.cpp x86 quantize_row_q8_1 on rows of x (float32, cols % 32 == 0).

    Returns int8 codes (same shape), fp16 d and fp16 s per block (shape [rows, cols/32]).
    Q8_0 is the same without s.
    """
    x = np.ascontiguousarray(x, dtype=np.float32)
    blocks = x.reshape(x.shape[0], -1, 32)
    amax = np.max(np.abs(blocks), axis=2)                                   # float32
    d = (amax / np.float32(127)).astype(np.float32)
    with np.errstate(divide="ignore"):
        inv = np.where(amax != 0, np.float32(127) / amax, np.float32(0)).astype(np.float32)
    scaled = (blocks * inv[:, :, None]).astype(np.float32)
    codes = np.rint(scaled).astype(np.int32)                               # half to even
    assert np.all(np.abs(codes) <= 127)
    sums = codes.sum(axis=2).astype(np.float32)
    s = (d * sums).astype(np.float32)
    assert np.all(np.isfinite(s.astype(np.float16)))
    return (codes.astype(np.int8).reshape(x.shape), d.astype(np.float16), s.astype(np.float16))


def weight_fields(raw, qtype, rows, cols):
    """Per-block integer codes (as the dot product sees them), fp16 d and m of a raw matrix."""
    nb = cols // 32
    blocks = raw.reshape(rows, nb, -1)
    d = blocks[:, :, 0:2].copy().view(np.float16)[:, :, 0].astype(np.float64)
    if qtype == T.Q8_0:
        codes = blocks[:, :, 2:34].copy().view(np.int8).astype(np.int64)
        return codes, d, None
    off = 4 if qtype == T.Q4_1 else 2
    qs = blocks[:, :, off:off + 16].astype(np.int64)
    codes = np.concatenate([qs & 0x0F, qs >> 4], axis=2)                   # element j, j + 16
    if qtype == T.Q4_0:
        return codes - 8, d, None
    m = blocks[:, :, 2:4].copy().view(np.float16)[:, :, 0].astype(np.float64)
    return codes, d, m


def expected(raw, qtype, rows, cols, xcodes, xd, xs):
    """y[b, o] = sum over blocks of d_w d_x (integer block dot) (+ m_w s_x for Q4_1), float64."""
    wc, wd, wm = weight_fields(raw, qtype, rows, cols)
    nb = cols // 32
    xc = xcodes.astype(np.int64).reshape(xcodes.shape[0], nb, 32)
    isum = np.einsum("obj,vbj->vob", wc, xc)                               # exact integers
    y = np.einsum("vob,ob,vb->vo", isum.astype(np.float64), wd, xd.astype(np.float64))
    if wm is not None:
        y += np.einsum("ob,vb->vo", wm, xs.astype(np.float64))
    return y


def sane_halves(n):
    return (rng.standard_normal(n).astype(np.float32) * 0.02).astype(np.float16).view(np.uint16)


def random_blocks(qtype, rows, cols):
    """Random block bytes (every code value occurs) with modest finite fp16 scales."""
    _, type_size = gguf.GGML_QUANT_SIZES[qtype]
    n = rows * cols // 32
    raw = rng.integers(0, 256, size=(n, type_size), dtype=np.uint8)
    for off in HALF_FIELDS[qtype]:
        raw[:, off:off + 2] = sane_halves(n).view(np.uint8).reshape(n, 2)
    return raw.reshape(rows, -1)


def edge_activations():
    """Two vectors of 4 blocks: zeros, exact ties, a lone value, huge, tiny and one-signed blocks."""
    x = np.zeros((2, 128), dtype=np.float32)
    # Row 0 block 0 stays all zero (d = 0, id = 0, every code 0).
    # Row 0 block 1: amax = 127 makes id exactly 1, so these are exact ties: half-to-even gives
    # 2, 0, -2, 126, 0 where round-half-away (gguf-py's reference) gives 3, 1, -3, 127, -1.
    x[0, 32:37] = [2.5, 0.5, -2.5, 126.5, -0.5]
    x[0, 37] = 127.0
    x[0, 38:64] = rng.uniform(-127, 127, 26).astype(np.float32)
    x[0, 64 + 7] = -3.25                                                    # lone value: code -127
    x[0, 96:128] = rng.standard_normal(32).astype(np.float32) * 2e3         # large values, d ~ 40
    x[1, 0:32] = rng.standard_normal(32).astype(np.float32) * 1e-6          # d is an fp16 subnormal
    x[1, 32:64] = np.abs(rng.standard_normal(32).astype(np.float32))        # all positive: s > 0
    x[1, 64:96] = -np.abs(rng.standard_normal(32).astype(np.float32))       # all negative
    x[1, 96:128] = rng.standard_normal(32).astype(np.float32)
    return x


def main():
    os.makedirs(ROOT, exist_ok=True)
    path = os.path.join(ROOT, "quant_dot.gguf")
    w = gguf.GGUFWriter(path, arch="monolith-test")
    cases = {
        # 37 rows: not a multiple of any row grouping; 576 = SmolLM2-135M's hidden size.
        "main": (37, 576, rng.standard_normal((8, 576)).astype(np.float32)),
        "edge": (6, 128, edge_activations()),
    }
    for case, (rows, cols, x) in cases.items():
        codes, xd, xs = quantize_activations(x)
        ref = quants.quantize(x, T.Q8_0).reshape(x.shape[0], -1, 34)
        ref_codes = ref[:, :, 2:].copy().view(np.int8).reshape(x.shape)
        ref_d = ref[:, :, :2].copy().view(np.float16)[:, :, 0]
        print(f"{case}: {np.count_nonzero(ref_codes != codes)} of {codes.size} codes and "
              f"{np.count_nonzero(ref_d.view(np.uint16) != xd.view(np.uint16))} of {xd.size} scales differ "
              f"from gguf-py's Q8_0 (round half away, id = 1/d)")
        w.add_tensor(f"x.{case}", x)
        w.add_tensor(f"xq.codes.{case}", codes)
        w.add_tensor(f"xq.d.{case}", xd)
        w.add_tensor(f"xq.s.{case}", xs)
        for name, qtype in TYPES:
            if case == "main":
                floats = rng.standard_normal((rows, cols)).astype(np.float32) * 0.05
                raw = quants.quantize(floats, qtype)
            else:
                raw = random_blocks(qtype, rows, cols)
            y = expected(raw, qtype, rows, cols, codes, xd, xs)
            w.add_tensor(f"w.{name}.{case}", raw, raw_dtype=qtype)
            w.add_tensor(f"y.{name}.{case}", y.astype(np.float64))
    w.write_header_to_file()
    w.write_kv_data_to_file()
    w.write_tensors_to_file()
    w.close()
    print(f"wrote {path} ({os.path.getsize(path)} bytes)")


if __name__ == "__main__":
    main()
