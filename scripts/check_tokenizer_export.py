#!/usr/bin/env python3
"""Checks that transformers loads Monolith's Hugging Face tokenizer export and encodes as the original.

The Swift suite HuggingFaceExportTests writes one directory per exported tokenizer under
$MONOLITH_EXPORT_DIR (tokenizer.json + tokenizer_config.json, from BPETokenizer.writeHuggingFace):

  gpt2/               GPT-2 as Monolith loads it from the shared vocab.json + merges.txt
  smollm2-<pre>/      SmolLM2's GGUF vocabulary with pre-tokenizer smollm, gpt-2 or llama-bpe
                      (only where the SmolLM2 metadata was present)
  synthetic-<pre>/    the tiny vocabulary of SyntheticVocabularyTests, with BOS added

For each, `AutoTokenizer.from_pretrained(dir)` must give the ids of the committed fixtures, which the
original tokenizers produced: tiktoken's for GPT-2 (Tests/Fixtures/tokenizer: edge cases and the
corpora), the references of Tests/Fixtures/gguf_tokenizer for the others, with special tokens parsed
and not, with BOS where the export says to add it; and SmolLM2's exported chat template must render
the fixture conversations as the GGUF's template does.

Usage:
  MONOLITH_EXPORT_DIR=/tmp/export swift test -c release -Xswiftc -enable-testing --skip-build \
      --scratch-path .build-ggtok --filter HuggingFaceExportTests
  python3 scripts/check_tokenizer_export.py /tmp/export [--data ../shared/data]
"""
import argparse
import json
import os
import struct
import sys

from transformers import AutoTokenizer

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
GGUF_FIXTURES = os.path.join(ROOT, "Tests", "Fixtures", "gguf_tokenizer")
GPT2_FIXTURES = os.path.join(ROOT, "Tests", "Fixtures", "tokenizer")


class Checker:
    def __init__(self):
        self.checked = 0
        self.failures = []

    def expect(self, what, got, expected):
        self.checked += 1
        if got != expected:
            first = next((i for i, (a, b) in enumerate(zip(got, expected)) if a != b), min(len(got), len(expected)))
            self.failures.append(f"{what}: first difference at {first}: {got[first:first + 5]} vs {expected[first:first + 5]}")


def encode(tok, text, add_special=False, parse_special=True):
    if parse_special:
        return tok.encode(text, add_special_tokens=add_special)
    # `tok.encode` resets the backend's flag from `split_special_tokens`, so ask the backend itself.
    backend = tok.backend_tokenizer
    backend.encode_special_tokens = True
    ids = backend.encode(text, add_special_tokens=add_special).ids
    backend.encode_special_tokens = False
    return ids


def check_gpt2(tok, data, c):
    for case in json.load(open(os.path.join(GPT2_FIXTURES, "edge_cases.json"), encoding="utf-8")):
        c.expect(f"gpt2 {case['name']}", encode(tok, case["text"]), case["ids"])
    manifest = json.load(open(os.path.join(GPT2_FIXTURES, "manifest.json")))
    for corpus in manifest["corpora"]:
        raw = open(os.path.join(data, corpus["source"]), "rb").read()[:corpus["prefix_bytes"]]
        text = raw.decode("utf-8", errors="replace")
        u16 = open(os.path.join(GPT2_FIXTURES, corpus["name"] + ".u16"), "rb").read()
        c.expect(f"gpt2 corpus {corpus['name']}", encode(tok, text), list(struct.unpack("<%dH" % (len(u16) // 2), u16)))


def check_gguf(tok, kind, cases, c, name, bos=None):
    for case in cases:
        ids = case["ids"].get(kind, case["ids"].get("smollm"))  # absent: the same as "smollm"
        c.expect(f"{name} {case['text'][:30]!r}", encode(tok, case["text"]), ids)
        c.expect(f"{name} (add_special) {case['text'][:30]!r}", encode(tok, case["text"], add_special=True),
                 ([bos] if bos is not None else []) + ids)
        no_special = (case.get("ids_no_special") or {}).get(kind)
        if no_special is not None:
            c.expect(f"{name} (special tokens not parsed) {case['text'][:30]!r}",
                     encode(tok, case["text"], parse_special=False), no_special)


def check_chat(tok, c):
    chat = json.load(open(os.path.join(GGUF_FIXTURES, "chat.json"), encoding="utf-8"))
    for r in chat["renders"]:
        if r["template"] != "smollm2" or "text" not in r:
            continue
        text = tok.apply_chat_template(chat["conversations"][r["conversation"]], tokenize=False,
                                       add_generation_prompt=r["add_generation_prompt"])
        c.expect(f"chat {r['conversation']} {r['add_generation_prompt']}", [text], [r["text"]])


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("export_dir")
    ap.add_argument("--data", default=os.path.join(ROOT, "..", "shared", "data"))
    args = ap.parse_args()
    c = Checker()
    smollm2 = json.load(open(os.path.join(GGUF_FIXTURES, "smollm2_ids.json"), encoding="utf-8"))["cases"]
    synthetic = json.load(open(os.path.join(GGUF_FIXTURES, "synthetic.json"), encoding="utf-8"))
    synthetic_cases = [dict(text=x["text"], ids=x["ids"], ids_no_special=x["ids_no_special"]) for x in synthetic["cases"]]
    seen = []
    for name in sorted(os.listdir(args.export_dir)):
        path = os.path.join(args.export_dir, name)
        if not os.path.isfile(os.path.join(path, "tokenizer.json")):
            continue
        tok = AutoTokenizer.from_pretrained(path)
        before = c.checked
        if name == "gpt2":
            check_gpt2(tok, args.data, c)
        elif name.startswith("smollm2-"):
            kind = name[len("smollm2-"):]
            check_gguf(tok, kind, smollm2, c, name)
            if kind == "smollm":
                check_chat(tok, c)
        elif name.startswith("synthetic-"):
            check_gguf(tok, name[len("synthetic-"):], synthetic_cases, c, name, bos=0)
        else:
            continue
        seen.append(name)
        print(f"{name}: {type(tok).__name__}, {c.checked - before} comparisons")
    for f in c.failures[:20]:
        print("MISMATCH", f)
    print(f"{len(seen)} exports, {c.checked} comparisons, {len(c.failures)} mismatches")
    if not seen or c.failures:
        sys.exit(1)


if __name__ == "__main__":
    main()
