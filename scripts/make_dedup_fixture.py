#!/usr/bin/env python3
"""A deduplication benchmark corpus with planted near-duplicates, and its scorer.

Make:      python3 scripts/make_dedup_fixture.py make --docs 100000 --out /tmp/dedup
  Writes OUT/corpus.jsonl (one {"id", "text"} per line, ~2 KB each) and OUT/truth.json.
  Base documents are random runs of lines from the real corpora in ../shared/data (Gutenberg,
  WikiText-2, tiny Shakespeare), so unrelated documents share few 5-shingles. A fraction of them
  (--dup-fraction) get planted copies made by random word edits (substitutions, insertions,
  deletions) until the word-5-shingle Jaccard similarity with the source reaches a target level
  (1.0 = same words with case/punctuation changes, 0.95 … 0.3); truth.json records the true
  similarity of every planted pair, computed here on Python sets.
Evaluate:  python3 scripts/make_dedup_fixture.py evaluate --truth OUT/truth.json --report REPORT.json
  Reads `monolith data dedup --report`, prints recall for planted pairs with Jaccard >= 0.85
  (a pair is found when both documents end in one cluster) and precision (a removed document is
  correct when its true Jaccard with the document it was matched to is >= the threshold),
  and exits non-zero unless both are >= 0.95.

The word definition matches Monolith's: runs of ASCII letters/digits or non-ASCII characters,
ASCII lowercased.
"""
import argparse
import json
import os
import random
import re
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
SHARED = os.path.join(HERE, "..", "..", "shared", "data")
WORD = re.compile(r"[0-9A-Za-z\u0080-\U0010FFFF]+")
ASCII_LOWER = str.maketrans("ABCDEFGHIJKLMNOPQRSTUVWXYZ", "abcdefghijklmnopqrstuvwxyz")


def words(text):
    return [w.translate(ASCII_LOWER) for w in WORD.findall(text)]


def shingles(text, n=5):
    w = words(text)
    if not w:
        return frozenset()
    if len(w) < n:
        return frozenset([" ".join(w)])
    return frozenset(" ".join(w[i:i + n]) for i in range(len(w) - n + 1))


def jaccard(a, b):
    if not a and not b:
        return 1.0
    return len(a & b) / len(a | b)


def corpus_lines():
    lines = []
    for folder in ("gutenberg", "wikitext-2", "tinyshakespeare"):
        for name in sorted(os.listdir(os.path.join(SHARED, folder))):
            with open(os.path.join(SHARED, folder, name), "rb") as f:
                text = f.read().decode("utf-8", errors="replace")
            lines += [l.strip() for l in text.splitlines() if len(l.split()) >= 4]
    return lines


def plant(rng, base, target, vocabulary):
    if target >= 1.0:
        return " ".join(w.upper() for w in base.split()) + " !", 1.0
    tokens = base.split()
    ref = shingles(base)
    script = [(rng.randrange(4), rng.randrange(len(tokens)), rng.choice(vocabulary)) for _ in range(len(tokens))]

    def apply(k):
        w = list(tokens)
        for kind, pos, word in script[:k]:
            p = min(pos, max(0, len(w) - 1))
            if kind == 0 and w:
                del w[p]
            elif kind == 1:
                w.insert(p, word)
            elif w:
                w[p] = word
        return " ".join(w)

    lo, hi = 0, len(script)
    while lo < hi:
        mid = (lo + hi) // 2
        if jaccard(ref, shingles(apply(mid))) <= target:
            hi = mid
        else:
            lo = mid + 1
    options = [(apply(k), jaccard(ref, shingles(apply(k)))) for k in {max(0, lo - 1), lo}]
    return min(options, key=lambda o: abs(o[1] - target))


def make(args):
    rng = random.Random(args.seed)
    lines = corpus_lines()
    vocabulary = [w for l in lines[:20000] for w in l.split()]
    levels = [1.0, 0.95, 0.9, 0.85, 0.7, 0.5, 0.3]
    n_planted = int(args.docs * args.dup_fraction)
    n_base = args.docs - n_planted
    docs = []
    for _ in range(n_base):
        parts, size = [], 0
        while size < args.doc_bytes:
            line = lines[rng.randrange(len(lines))]
            parts.append(line)
            size += len(line) + 1
        docs.append(" ".join(parts))
    plants = []
    for k in range(n_planted):
        source = rng.randrange(n_base)
        text, j = plant(rng, docs[source], levels[k % len(levels)], vocabulary)
        plants.append({"source": source, "copy": len(docs), "jaccard": j})
        docs.append(text)
    order = list(range(len(docs)))
    rng.shuffle(order)
    position = {d: p for p, d in enumerate(order)}
    os.makedirs(args.out, exist_ok=True)
    with open(os.path.join(args.out, "corpus.jsonl"), "w") as f:
        for p, d in enumerate(order):
            f.write(json.dumps({"id": p, "text": docs[d]}) + "\n")
    for p in plants:
        p["source"], p["copy"] = position[p["source"]], position[p["copy"]]
    with open(os.path.join(args.out, "truth.json"), "w") as f:
        json.dump({"documents": len(docs), "plants": plants}, f)
    size = os.path.getsize(os.path.join(args.out, "corpus.jsonl"))
    print(f"wrote {len(docs)} documents ({size / 1e6:.1f} MB), {len(plants)} planted copies, to {args.out}")


def evaluate(args):
    with open(args.truth) as f:
        truth = json.load(f)
    with open(args.report) as f:
        report = json.load(f)
    corpus = os.path.join(os.path.dirname(args.truth), "corpus.jsonl")
    with open(corpus) as f:
        texts = [json.loads(l)["text"] for l in f]
    # Report documents are indices among valid documents; the corpus has no invalid lines.
    cluster = {}
    for c, cl in enumerate(report["clusters"]):
        for m in [cl["kept"]] + cl["removed"]:
            cluster[m["document"]] = c
    threshold = report["parameters"]["threshold"]
    positives = [p for p in truth["plants"] if p["jaccard"] >= 0.85]
    found = [p for p in positives if cluster.get(p["source"], -1) >= 0 and cluster.get(p["source"]) == cluster.get(p["copy"])]
    removed = [m for cl in report["clusters"] for m in cl["removed"]]
    correct = [m for m in removed if jaccard(shingles(texts[m["document"]]), shingles(texts[m["matchedWith"]])) >= threshold]
    negatives = [p for p in truth["plants"] if p["jaccard"] < 0.75]
    merged = [p for p in negatives if cluster.get(p["copy"], -1) >= 0 and cluster.get(p["copy"]) == cluster.get(p["source"])]
    recall = len(found) / max(1, len(positives))
    precision = len(correct) / max(1, len(removed))
    print(f"recall at J >= 0.85: {len(found)}/{len(positives)} = {recall:.4f}")
    print(f"precision: {len(correct)}/{len(removed)} = {precision:.4f}")
    print(f"dissimilar plants (J < 0.75) merged: {len(merged)}/{len(negatives)}")
    ok = recall >= 0.95 and precision >= 0.95
    print("PASS" if ok else "FAIL")
    return 0 if ok else 1


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="command", required=True)
    m = sub.add_parser("make")
    m.add_argument("--docs", type=int, default=100000)
    m.add_argument("--doc-bytes", type=int, default=2000)
    m.add_argument("--dup-fraction", type=float, default=0.05)
    m.add_argument("--seed", type=int, default=1)
    m.add_argument("--out", required=True)
    e = sub.add_parser("evaluate")
    e.add_argument("--truth", required=True)
    e.add_argument("--report", required=True)
    args = parser.parse_args()
    sys.exit(make(args) if args.command == "make" else evaluate(args))
