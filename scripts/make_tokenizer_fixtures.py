#!/usr/bin/env python3
"""Writes the tokenizer fixtures that the Swift tests compare against (Tests/Fixtures/tokenizer/).

Expected ids come from tiktoken's r50k_base (GPT-2), built offline from the shared rank file, with
allowed_special="all" so that "<|endoftext|>" in text is the special token 50256:
  manifest.json        the corpora: source path under ../shared/data, prefix length in bytes,
                       whether invalid UTF-8 was replaced, token count, sha256 of the text
  <corpus>.u16         their ids, little-endian uint16 (every GPT-2 id fits)
  edge_cases.json      hand-picked strings (contractions, scripts, numbers, emoji, CJK, combining
                       marks, whitespace runs, special tokens, long runs) and seeded random Unicode
  decode_cases.json    id sequences and tiktoken's decode(errors="replace"): every prefix of some
                       multi-byte strings (cut mid-character) and random id sequences
  hf_trained/          Hugging Face BpeTrainer on a small corpus: its tokenizer.json (merges as
                       pairs), the same with "a b" string merges (hf_trained_legacy/), and
                       expected.json with the merges and HF's encodings of the corpus

Usage: python3 scripts/make_tokenizer_fixtures.py [--data ../shared/data] [--out Tests/Fixtures/tokenizer]
Needs: pip install tiktoken tokenizers (tiktoken 0.14 and tokenizers 0.23 made the committed files)
"""
import argparse
import hashlib
import json
import os
import random
import struct

import tiktoken
from tiktoken.load import load_tiktoken_bpe

PATTERN = r"""'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+"""

# name, source under the data folder, prefix length (bytes, cut after a newline; None = whole)
CORPORA = [
    ("tinyshakespeare", "tinyshakespeare/input.txt", None),
    ("wikitext2_valid", "wikitext-2/valid.txt", None),
    ("austen_emma", "gutenberg/austen-emma.txt", 300_000),
    ("blake_poems", "gutenberg/blake-poems.txt", None),
    ("chesterton_ball", "gutenberg/chesterton-ball.txt", None),  # invalid UTF-8: decoded with replacement
    ("milton_paradise", "gutenberg/milton-paradise.txt", 200_000),
    ("whitman_leaves", "gutenberg/whitman-leaves.txt", 200_000),
    ("shakespeare_macbeth", "gutenberg/shakespeare-macbeth.txt", None),
]

EDGE_CASES = [
    ("hello_world", "Hello world!"),
    ("empty", ""),
    ("contractions", "I'm sure you're right, we've seen they'll go; she'd say it's 'tis don't"),
    ("contractions_upper", "I'M YOU'RE WE'VE IT'S 's 't 're 'x ''s '''ll"),
    ("apostrophe_runs", "rock'n'roll ' 's  's\n's\t'd"),
    ("letters_scripts", "Ελληνικά Русский язык العربية עברית हिन्दी ไทย 한국어 Ǆǅǆ ʰʱ"),
    ("numbers", "3.14159 1,000,000 ١٢٣ ४५६ ² ½ Ⅻ 0x1F 1e10 12345678901234567890"),
    ("emoji", "😀👍🏽 👩‍👩‍👧 🇺🇸🇫🇷 ❤️ ☃ 🤖!"),
    ("cjk", "日本語のテキスト。中文文本，汉字。 한국어 텍스트"),
    ("combining", "e\u0301 n\u0303 a\u0308\u0304 Z\u0337\u0322\u0349a\u0338l\u0335g\u0336o\u0335 \u0301start"),
    ("whitespace_runs", "a  b   c\t\td\n\n\ne \n \n  \r\n\r\n  \u00a0\u3000x   "),
    ("leading_trailing", "   leading and trailing   "),
    ("only_spaces", "     "),
    ("only_newlines", "\n\n\n"),
    ("mixed_whitespace", "\t \t\u2028\u2029\u0085\u000b\u000c word"),
    ("nbsp_words", "a\u00a0b \u00a0c\u3000d \u2003e"),
    ("special_alone", "<|endoftext|>"),
    ("special_inside", "a<|endoftext|>b"),
    ("special_twice", "<|endoftext|><|endoftext|>"),
    ("special_whitespace", "\n\n<|endoftext|>\n\n  <|endoftext|>  x"),
    ("special_partial", "<|endoftext <|endoftext||> <|endoftext|>'s"),
    ("code", "def f(x):\n    return x**2  # comment\n\n\nclass A:\n\tpass\r\n"),
    ("controls", "\u200b\ufeff\x00\x01\x7f\x1b[0m"),
    ("astral_letters", "𝐀𝐁𝐂 𝔄𝔅 𐐷𐐸 𠀀𠀁 𝟘𝟙"),
    ("punctuation", "...!?!? --- ((()))[]{} «quotes» “smart” ‘single’ — – … @#$%^&*"),
    ("long_letters", "a" * 1000),
    ("long_spaces", " " * 1000 + "x"),
    ("long_digits", "1234567890" * 50),
    ("long_punct", "!?" * 300),
    ("long_newlines_word", "\n" * 500 + "word"),
]


def random_scalar(rng):
    r = rng.random()
    if r < 0.4:
        return chr(rng.randrange(0x20, 0x7F))
    if r < 0.5:
        return chr(rng.randrange(0x80, 0x800))
    if r < 0.7:
        while True:
            c = rng.randrange(0x800, 0x10000)
            if not 0xD800 <= c < 0xE000:
                return chr(c)
    if r < 0.8:
        return chr(rng.randrange(0x10000, 0x30000))
    if r < 0.85:
        return chr(rng.randrange(0x30000, 0x110000))
    return rng.choice(" \t\n\r\x0b\x0c\u00a0\u3000")


def random_texts(rng, count):
    pieces = ["'s", "'t", "'re", "'ll", "'S", "'x", "<|endoftext|>", "<|endoftext", " ", "  ", "\n", "\n\n",
              "\t", "\r\n", "hello", " world", "123", "١٢٣", "é", "e\u0301", "日本", "😀", " 'tis", "..."]
    texts = []
    for _ in range(count):
        parts = []
        for _ in range(rng.randrange(1, 40)):
            if rng.random() < 0.5:
                parts.append(rng.choice(pieces))
            else:
                parts.append("".join(random_scalar(rng) for _ in range(rng.randrange(1, 8))))
        texts.append("".join(parts))
    return texts


def prefix_at_newline(data, limit):
    if limit is None or limit >= len(data):
        return len(data)
    return data.rindex(b"\n", 0, limit) + 1


def main():
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    ap = argparse.ArgumentParser()
    ap.add_argument("--data", default=os.path.join(root, "..", "shared", "data"))
    ap.add_argument("--out", default=os.path.join(root, "Tests", "Fixtures", "tokenizer"))
    args = ap.parse_args()
    os.makedirs(args.out, exist_ok=True)
    ranks = load_tiktoken_bpe(os.path.join(args.data, "gpt2-tokenizer", "r50k_base.tiktoken"))
    enc = tiktoken.Encoding(name="r50k_base", pat_str=PATTERN, mergeable_ranks=ranks,
                            special_tokens={"<|endoftext|>": 50256}, explicit_n_vocab=50257)
    assert enc.encode("Hello world!") == [15496, 995, 0]

    manifest = []
    for name, source, limit in CORPORA:
        data = open(os.path.join(args.data, source), "rb").read()
        n = prefix_at_newline(data, limit)
        data = data[:n]
        try:
            text = data.decode("utf-8")
            invalid_offset = None
        except UnicodeDecodeError as e:
            text = data.decode("utf-8", errors="replace")
            invalid_offset = e.start
        ids = enc.encode(text, allowed_special="all")
        with open(os.path.join(args.out, name + ".u16"), "wb") as f:
            f.write(struct.pack("<%dH" % len(ids), *ids))
        manifest.append(dict(name=name, source=source, prefix_bytes=n, replace_invalid=invalid_offset is not None,
                             first_invalid_offset=invalid_offset, tokens=len(ids),
                             sha256=hashlib.sha256(data).hexdigest()))
        print(f"{name}: {n} bytes, {len(ids)} tokens")
    json.dump(dict(generator="tiktoken %s r50k_base" % tiktoken.__version__, corpora=manifest),
              open(os.path.join(args.out, "manifest.json"), "w"), indent=1)

    rng = random.Random(1234)
    cases = [dict(name=n, text=t) for n, t in EDGE_CASES]
    cases += [dict(name="random_%02d" % i, text=t) for i, t in enumerate(random_texts(rng, 80))]
    for c in cases:
        c["ids"] = enc.encode(c["text"], allowed_special="all")
    json.dump(cases, open(os.path.join(args.out, "edge_cases.json"), "w", encoding="utf-8"),
              ensure_ascii=False, indent=0)

    decode_cases = []
    for s in ["héllo 日本 😀 ё", "👩‍👩‍👧 ❤️ 🇺🇸", "naïve café — “quote”", "e\u0301\u0302 𝐀"]:
        ids = enc.encode(s)
        for k in range(1, len(ids) + 1):
            decode_cases.append(dict(ids=ids[:k], text=enc.decode(ids[:k], errors="replace")))
    for _ in range(200):
        ids = [rng.randrange(0, 50257) for _ in range(rng.randrange(1, 7))]
        decode_cases.append(dict(ids=ids, text=enc.decode(ids, errors="replace")))
    json.dump(decode_cases, open(os.path.join(args.out, "decode_cases.json"), "w", encoding="utf-8"),
              ensure_ascii=False, indent=0)
    print(f"{len(cases)} edge cases, {len(decode_cases)} decode cases")
    write_hf_trained(args)


def write_hf_trained(args):
    """Hugging Face trains a small vocabulary; the Swift trainer must find the same merges."""
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers
    import tokenizers
    sources = ["gutenberg/blake-poems.txt", "gutenberg/shakespeare-macbeth.txt"]
    files = [os.path.join(args.data, s) for s in sources]
    vocab_size = 2000
    tok = Tokenizer(models.BPE())
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tok.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(vocab_size=vocab_size, special_tokens=["<|endoftext|>"],
                                  initial_alphabet=pre_tokenizers.ByteLevel.alphabet(), show_progress=False)
    tok.train(files, trainer)
    out = os.path.join(args.out, "hf_trained")
    os.makedirs(out, exist_ok=True)
    tok.save(os.path.join(out, "tokenizer.json"))
    model = json.loads(tok.to_str())["model"]
    merges = [m if isinstance(m, list) else m.split(" ") for m in model["merges"]]
    legacy = json.loads(tok.to_str())
    legacy["model"]["merges"] = [" ".join(m) for m in merges]
    os.makedirs(out + "_legacy", exist_ok=True)
    json.dump(legacy, open(os.path.join(out + "_legacy", "tokenizer.json"), "w", encoding="utf-8"), ensure_ascii=False)
    encodings = {}
    for s in sources + ["tinyshakespeare/input.txt"]:
        text = open(os.path.join(args.data, s), encoding="utf-8").read()[:30_000]
        encodings[s] = dict(characters=len(text), ids=tok.encode(text + "<|endoftext|>").ids)
    json.dump(dict(generator="tokenizers %s BpeTrainer" % tokenizers.__version__, sources=sources,
                   vocab_size=vocab_size, special_tokens=["<|endoftext|>"], merges=merges, encodings=encodings),
              open(os.path.join(out, "expected.json"), "w", encoding="utf-8"), ensure_ascii=False)
    print(f"hf_trained: {len(merges)} merges")


if __name__ == "__main__":
    main()
