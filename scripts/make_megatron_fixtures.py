#!/usr/bin/env python3
"""Megatron-core fixtures for MonolithData, and a check of Monolith-written datasets.

Make mode (default) writes Tests/Fixtures/megatron/ with megatron-core's own code:
  * `uint16_docs.{bin,idx}`, `int32_docs.{bin,idx}`, `blend_b.{bin,idx}`: written by
    megatron.core.datasets.indexed_dataset.IndexedDatasetBuilder (including multi-sequence
    documents), with `indexed.json` listing their sequences and document indices;
  * `gpt.json`: document/sample/shuffle indices and sample tokens of megatron-core's GPTDataset and
    BlendedDataset, built by BlendedMegatronDatasetBuilder on those files (CPU, no
    torch.distributed), for several seeds, sequence lengths and sample counts (one and many epochs,
    with and without a separately shuffled final epoch);
  * `blending.json`: megatron-core's compiled helpers (helpers_cpp.build_blending_indices,
    build_exhaustive_blending_indices, build_sample_idx) on assorted inputs.

Check mode reads Monolith-written datasets with megatron-core's IndexedDataset and compares them
with the expected documents that Monolith exported next to them (`PREFIX.json`):
  python3 scripts/make_megatron_fixtures.py --check DIR     # every PREFIX.json in DIR
Produce DIR with the Swift test `exportForMegatronCheck` (MONOLITH_MEGATRON_EXPORT=DIR) or with
`monolith data inspect PREFIX --dump-json PREFIX.json` for a preprocess output.
Prints `N passed, 0 failed`; exits non-zero on any failure.

Tiktoken mode checks a `monolith data preprocess` output end to end: megatron-core reads
PREFIX, and every document must equal tiktoken's r50k_base (GPT-2) encoding of the JSONL line's
"text" (plus <|endoftext|> with --append-eod), built from ../shared/data/gpt2-tokenizer:
  python3 scripts/make_megatron_fixtures.py --compare-tiktoken PREFIX INPUT.jsonl [--append-eod]

Needs: pip install megatron-core (pulls torch). Tests read only the committed fixtures.
"""
import argparse
import glob
import json
import os
import sys
import tempfile

import numpy
import torch  # noqa: F401  (megatron-core's IndexedDatasetBuilder takes tensors)

from megatron.core.datasets.indexed_dataset import IndexedDataset, IndexedDatasetBuilder

HERE = os.path.dirname(os.path.abspath(__file__))
OUT = os.path.join(HERE, "..", "Tests", "Fixtures", "megatron")


def random_documents(rng, count, max_len, vocab, multi_every=0):
    """Documents as lists of sequences (lists of token ids)."""
    docs = []
    for d in range(count):
        n_seq = 1 + (d % 3 if multi_every and d % multi_every == 0 else 0)
        docs.append([rng.integers(0, vocab, size=int(rng.integers(1, max_len + 1))).tolist() for _ in range(n_seq)])
    return docs


def write_indexed(prefix, docs, dtype):
    builder = IndexedDatasetBuilder(prefix + ".bin", dtype=dtype)
    for doc in docs:
        if len(doc) == 1:
            builder.add_item(torch.tensor(doc[0], dtype=torch.int64))
            builder.end_document()
        else:
            flat = [t for s in doc for t in s]
            builder.add_document(torch.tensor(flat, dtype=torch.int64), [len(s) for s in doc])
    builder.finalize(prefix + ".idx")
    ds = IndexedDataset(prefix)
    return {
        "dtype_code": {numpy.uint16: 8, numpy.int32: 4}[dtype],
        "sequences": [ds[i].tolist() for i in range(len(ds))],
        "document_indices": ds.document_indices.tolist(),
    }


class FixtureTokenizer:
    """What GPTDatasetConfig needs of a tokenizer: a vocabulary size, ids and an identity."""

    def __init__(self, vocab_size, eod):
        self.vocab_size = vocab_size
        self.eod = eod
        self.pad = -1
        self.unique_identifiers = {"class": "FixtureTokenizer", "vocab_size": vocab_size}


def build_gpt(prefixes, weights, split, seed, seq_len, sizes, cache):
    from megatron.core.datasets.blended_megatron_dataset_builder import BlendedMegatronDatasetBuilder
    from megatron.core.datasets.gpt_dataset import GPTDataset, GPTDatasetConfig

    blend = (prefixes, weights)
    config = GPTDatasetConfig(
        random_seed=seed, sequence_length=seq_len, blend=blend, split=split,
        path_to_cache=None, tokenizer=FixtureTokenizer(65000, 0),
        reset_position_ids=False, reset_attention_mask=False, eod_mask_loss=False,
        create_attention_mask=False, mid_level_dataset_surplus=0.005,
    )
    return BlendedMegatronDatasetBuilder(GPTDataset, sizes, lambda: True, config).build()


def describe_gpt(ds, n_samples=6):
    return {
        "num_samples": ds.num_samples,
        "document_index": ds.document_index.tolist(),
        "sample_index": ds.sample_index.reshape(-1).tolist(),
        "shuffle_index": ds.shuffle_index.tolist(),
        "samples": {str(i): ds[i]["tokens"].tolist() + [int(ds[i]["labels"][-1])]
                    for i in sorted(set(range(min(n_samples, len(ds)))) | ({len(ds) - 1} if len(ds) else set()))},
    }


def make():
    os.makedirs(OUT, exist_ok=True)
    rng = numpy.random.default_rng(20240601)
    indexed = {}
    indexed["uint16_docs"] = write_indexed(os.path.join(OUT, "uint16_docs"),
                                           random_documents(rng, 120, 60, 65500, multi_every=7), numpy.uint16)
    indexed["int32_docs"] = write_indexed(os.path.join(OUT, "int32_docs"),
                                          random_documents(rng, 40, 30, 200000, multi_every=5), numpy.int32)
    indexed["blend_b"] = write_indexed(os.path.join(OUT, "blend_b"),
                                       random_documents(rng, 80, 40, 50000), numpy.uint16)
    with open(os.path.join(OUT, "indexed.json"), "w") as f:
        json.dump(indexed, f, separators=(",", ":"))

    cases = []
    with tempfile.TemporaryDirectory() as tmp:
        # Copy so megatron's default cache folder (PREFIX/cache/...) lands in the temp dir.
        for name in ("uint16_docs", "blend_b"):
            for ext in (".bin", ".idx"):
                with open(os.path.join(OUT, name + ext), "rb") as src, open(os.path.join(tmp, name + ext), "wb") as dst:
                    dst.write(src.read())
        a, b = os.path.join(tmp, "uint16_docs"), os.path.join(tmp, "blend_b")
        # A split with no documents must not be asked for samples: megatron-core's epoch loop never
        # ends there (Monolith throws instead).
        single = [
            # (split, seed, seq_len, sizes): one epoch, many epochs with a separate final epoch,
            # many epochs without one, and an absent test split.
            ("969,30,1", 1234, 16, [None, None, None]),
            ("969,30,1", 1234, 16, [1000, 40, None]),
            ("90,10", 7, 31, [257, 23, None]),
            ("8,1,1", 99, 8, [140, 300, 2]),
        ]
        # The last epoch needed for 75 % of its samples: shuffled apart (< 80 %), a boundary
        # that a wrong threshold would move.
        ds = IndexedDataset(a)
        train_end = int(round(0.9 * len(ds)))
        tokens = int(ds.sequence_lengths[:train_end].sum())
        per_epoch = (tokens - 1) // 12
        before = (2 * tokens - 1) // 12
        single.append(("90,10", 5, 12, [before + int(0.75 * per_epoch), None, None]))
        for split, seed, seq_len, sizes in single:
            out = build_gpt([a], None, split, seed, seq_len, sizes, tmp)
            cases.append({"prefixes": ["uint16_docs"], "weights": None, "split": split, "seed": seed,
                          "sequence_length": seq_len, "sizes": sizes,
                          "splits": [None if ds is None else describe_gpt(ds) for ds in out]})
        for weights, sizes in (([0.3, 0.7], [300, 30, 10]), ([2.0, 1.0], [64, 8, 4])):
            out = build_gpt([a, b], weights, "90,8,2", 1234, 16, sizes, tmp)
            splits = []
            for ds in out:
                if ds is None:
                    splits.append(None)
                    continue
                splits.append({
                    "size": len(ds),
                    "dataset_index": ds.dataset_index.tolist(),
                    "dataset_sample_index": ds.dataset_sample_index.tolist(),
                    "parts": [{"num_samples": p.num_samples, "sample_count": len(p)} for p in ds.datasets],
                    "samples": {str(i): ds[i]["tokens"].tolist() + [int(ds[i]["labels"][-1])]
                                for i in (0, 1, 2, len(ds) - 1)},
                })
            cases.append({"prefixes": ["uint16_docs", "blend_b"], "weights": weights, "split": "90,8,2",
                          "seed": 1234, "sequence_length": 16, "sizes": sizes, "splits": splits})
    with open(os.path.join(OUT, "gpt.json"), "w") as f:
        json.dump(cases, f, separators=(",", ":"))

    from megatron.core.datasets import helpers_cpp
    blending = {"weighted": [], "exhaustive": [], "sample_idx": []}
    for weights, size in (([0.3, 0.7], 100), ([0.5, 0.25, 0.25], 64), ([1 / 3] * 3, 50),
                          (list(numpy.random.default_rng(5).dirichlet([1] * 5)), 1000), ([1.0], 7)):
        w = numpy.array(weights, dtype=numpy.float64)
        di = numpy.zeros(size, dtype=numpy.int16)
        dsi = numpy.zeros(size, dtype=numpy.int64)
        helpers_cpp.build_blending_indices(di, dsi, w, len(weights), size, False)
        blending["weighted"].append({"weights": w.tolist(), "size": size,
                                     "dataset_index": di.tolist(), "dataset_sample_index": dsi.tolist()})
    for sizes in ([3, 5, 2], [10, 1], [7, 7, 7, 1]):
        total = sum(sizes)
        di = numpy.zeros(total, dtype=numpy.int16)
        dsi = numpy.zeros(total, dtype=numpy.int64)
        helpers_cpp.build_exhaustive_blending_indices(di, dsi, numpy.array(sizes, dtype=numpy.int64), len(sizes))
        blending["exhaustive"].append({"sizes": sizes, "dataset_index": di.tolist(), "dataset_sample_index": dsi.tolist()})
    srng = numpy.random.default_rng(11)
    for seq_len, epochs in ((4, 1), (7, 3), (50, 2)):
        sizes = srng.integers(1, 40, size=25).astype(numpy.int32)
        doc_idx = numpy.tile(numpy.arange(25, dtype=numpy.int32), epochs)
        srng.shuffle(doc_idx)
        tokens = int(sizes.sum())
        idx = helpers_cpp.build_sample_idx_int32(sizes, doc_idx, seq_len, epochs, tokens, True, 1)
        blending["sample_idx"].append({"sizes": sizes.tolist(), "document_index": doc_idx.tolist(),
                                       "sequence_length": seq_len, "epochs": epochs, "tokens_per_epoch": tokens,
                                       "sample_index": idx.reshape(-1).tolist()})
    with open(os.path.join(OUT, "blending.json"), "w") as f:
        json.dump(blending, f, separators=(",", ":"))
    print(f"wrote fixtures to {os.path.normpath(OUT)}")


def check(directory):
    passed = failed = 0
    specs = sorted(glob.glob(os.path.join(directory, "*.json")))
    if not specs:
        print(f"no PREFIX.json files in {directory}")
        return 1
    for spec_path in specs:
        prefix = spec_path[:-5]
        with open(spec_path) as f:
            spec = json.load(f)
        try:
            ds = IndexedDataset(prefix)
            got = [ds[i].tolist() for i in range(len(ds))]
            problems = []
            if int(spec["dtype_code"]) != {numpy.uint16: 8, numpy.int32: 4}.get(ds.index.dtype, -1):
                problems.append(f"dtype {ds.index.dtype} != code {spec['dtype_code']}")
            if ds.document_indices.tolist() != spec["document_indices"]:
                problems.append("document indices differ")
            if got != spec["sequences"]:
                first = next((i for i, (x, y) in enumerate(zip(got, spec["sequences"])) if x != y), min(len(got), len(spec["sequences"])))
                problems.append(f"sequences differ (first at {first}; {len(got)} vs {len(spec['sequences'])})")
        except Exception as error:  # a reader assertion is a failure to report, not a crash
            problems = [f"megatron-core could not read it: {error!r}"]
        if problems:
            failed += 1
            print(f"FAIL {os.path.basename(prefix)}: " + "; ".join(problems))
        else:
            passed += 1
            print(f"ok   {os.path.basename(prefix)}: {len(spec['sequences'])} sequences, "
                  f"{len(spec['document_indices']) - 1} documents read identically by megatron-core")
    print(f"{passed} passed, {failed} failed")
    return 0 if failed == 0 else 1


def compare_tiktoken(prefix, jsonl, append_eod):
    import base64
    import tiktoken

    ranks = {}
    with open(os.path.join(HERE, "..", "..", "shared", "data", "gpt2-tokenizer", "r50k_base.tiktoken"), "rb") as f:
        for line in f:
            token, rank = line.split()
            ranks[base64.b64decode(token)] = int(rank)
    pattern = r"'(?:[sdmt]|ll|ve|re)| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+"
    enc = tiktoken.Encoding(name="r50k_base_local", pat_str=pattern, mergeable_ranks=ranks,
                            special_tokens={"<|endoftext|>": 50256})
    with open(jsonl) as f:
        texts = [json.loads(line)["text"] for line in f]
    ds = IndexedDataset(prefix)
    passed = failed = 0
    if len(ds.document_indices) - 1 != len(texts):
        print(f"FAIL {prefix}: {len(ds.document_indices) - 1} documents for {len(texts)} input lines")
        failed += 1
    for i, text in enumerate(texts[:len(ds)]):
        want = enc.encode(text, allowed_special="all") + ([50256] if append_eod else [])
        if ds[i].tolist() == want:
            passed += 1
        else:
            failed += 1
            if failed <= 5:
                print(f"FAIL document {i}: {len(ds[i])} tokens, tiktoken gives {len(want)}")
    print(f"{passed} passed, {failed} failed")
    return 0 if failed == 0 else 1


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--check", metavar="DIR", help="check Monolith-written datasets in DIR")
    parser.add_argument("--compare-tiktoken", nargs=2, metavar=("PREFIX", "JSONL"),
                        help="check a preprocess output against tiktoken's GPT-2 encoding of its input")
    parser.add_argument("--append-eod", action="store_true", help="the preprocess run used --append-eod")
    args = parser.parse_args()
    if args.compare_tiktoken:
        sys.exit(compare_tiktoken(*args.compare_tiktoken, args.append_eod))
    sys.exit(check(args.check) if args.check else make())
