#!/usr/bin/env python3
"""End-to-end checks of `monolith serve` through the official `openai` Python client.

Starts the server on SmolLM2-135M-Instruct (the registry model; `monolith fetch
smollm2-135m-instruct` first) on a free loopback port, then checks completions and chat,
streaming and not, n > 1, stop strings, seeds, echo + logprobs against `monolith perplexity`,
greedy text against `monolith generate`, concurrent requests against single ones, the error
shapes, /metrics, /tokenize and /detokenize, and a clean exit on SIGINT.
Prints 'serve: N passed, 0 failed' on success.

Usage: python3 scripts/serve_checks.py [--monolith .build/release/monolith] [--model smollm2-135m-instruct]
"""
import argparse
import concurrent.futures
import json
import os
import re
import subprocess
import sys
import tempfile
import urllib.request

import openai

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from serve_process import start as start_server, stop  # noqa: E402

passed = failed = 0


def check(name, ok, detail=""):
    global passed, failed
    if ok:
        passed += 1
        print(f"ok: {name}")
    else:
        failed += 1
        print(f"FAIL: {name} {detail}")


def start(binary, model, extra=()):
    return start_server(binary, model, ["--max-batch", "4", "--kv-cache-tokens", "4096", *extra])


def http(port, path, body=None, method=None):
    req = urllib.request.Request(f"http://127.0.0.1:{port}{path}", data=None if body is None else json.dumps(body).encode(),
                                 method=method or ("POST" if body is not None else "GET"), headers={"Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(req) as r:
            return r.status, r.read().decode()
    except urllib.error.HTTPError as e:
        return e.code, e.read().decode()


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--monolith", default=".build/release/monolith")
    ap.add_argument("--model", default="smollm2-135m-instruct")
    a = ap.parse_args()
    proc, port = start(a.monolith, a.model)
    client = openai.OpenAI(base_url=f"http://127.0.0.1:{port}/v1", api_key="unused", max_retries=0)
    name = client.models.list().data[0].id
    try:
        run_checks(a, client, name, port)
    finally:
        rc = stop(proc)
        check("SIGINT stops the server with exit 0", rc == 0, f"exit {rc}")
    replay_lm_eval(a)
    print(f"serve: {passed} passed, {failed} failed")
    sys.exit(1 if failed else 0)


def replay_lm_eval(a):
    """The fixture's first requests of each task, as lm-eval's local-completions sends them
    (context and continuation token ids, echo, logprobs 1, max_tokens 1), against the log-likelihoods
    lm-eval computed through the server and checked against `monolith eval` and transformers
    (scripts/check_serve_lm_eval.py)."""
    repo = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    with open(os.path.join(repo, "Tests", "Fixtures", "serve", "lm_eval_local_completions.json")) as f:
        fixture = json.load(f)
    proc, port = start(a.monolith, os.path.join(repo, fixture["model"]))
    worst, mismatched, count = 0.0, [], 0
    try:
        for task, t in fixture["tasks"].items():
            for r in t["first_requests"]:
                if r["cut_tokens"]:
                    continue
                ctx = json.loads(http(port, "/tokenize", {"content": r["context"]})[1])["tokens"]
                cont = json.loads(http(port, "/tokenize", {"content": r["continuation"]})[1])["tokens"]
                body = json.loads(http(port, "/v1/completions", {"prompt": ctx + cont, "max_tokens": 1, "logprobs": 1, "echo": True,
                                                                 "temperature": 0})[1])
                lp = body["choices"][0]["logprobs"]
                span = range(len(ctx), len(ctx) + len(cont))
                ll = sum(lp["token_logprobs"][i] for i in span)
                greedy = all(max(lp["top_logprobs"][i], key=lp["top_logprobs"][i].get) == lp["tokens"][i] for i in span)
                worst, count = max(worst, abs(ll - r["ll"])), count + 1
                if abs(ll - r["ll"]) > 1e-4 or greedy != r["is_greedy"]:
                    mismatched.append((task, r["doc_id"], r["choice"], ll, r["ll"], greedy, r["is_greedy"]))
    finally:
        stop(proc)
    check(f"{count} lm-eval requests replayed give lm-eval's log-likelihoods through the server (max difference {worst:.1e}) "
          "and is_greedy", count > 100 and not mismatched, repr(mismatched[:3]))


def run_checks(a, client, name, port):
    prompt = "The capital of France is"
    # Greedy text equals `monolith generate`.
    r = client.completions.create(model=name, prompt=prompt, max_tokens=16, temperature=0)
    gen = subprocess.run([a.monolith, "generate", "--model", a.model, "--prompt", prompt, "--max-new-tokens", "16", "--temperature", "0"],
                         capture_output=True, text=True).stdout
    check("greedy completion equals monolith generate", gen.rstrip("\n") == prompt + r.choices[0].text, repr((gen, r.choices[0].text)))
    check("usage counts tokens", r.usage.completion_tokens == 16 and r.usage.prompt_tokens > 0 and r.choices[0].finish_reason == "length")

    # Streaming gives the same text, then [DONE]; include_usage adds a usage chunk.
    chunks = list(client.completions.create(model=name, prompt=prompt, max_tokens=16, temperature=0, stream=True,
                                            stream_options={"include_usage": True}))
    text = "".join(c.choices[0].text for c in chunks if c.choices)
    check("streamed completion equals the non-streamed one", text == r.choices[0].text, repr(text))
    check("the last stream chunk carries usage", chunks[-1].usage is not None and chunks[-1].usage.completion_tokens == 16)

    # Chat, with the model's template.
    c = client.chat.completions.create(model=name, messages=[{"role": "user", "content": "What is 2+2?"}], max_tokens=24, temperature=0)
    check("chat completion answers", c.choices[0].message.role == "assistant" and len(c.choices[0].message.content) > 0,
          repr(c.choices[0].message))
    deltas = list(client.chat.completions.create(model=name, messages=[{"role": "user", "content": "What is 2+2?"}], max_tokens=24,
                                                 temperature=0, stream=True))
    streamed = "".join(d.choices[0].delta.content or "" for d in deltas if d.choices)
    check("streamed chat equals the non-streamed reply", streamed == c.choices[0].message.content, repr(streamed))

    # A sampled end-of-text token ends the text but is still reported, in logprobs and usage:
    # lm-eval's echo scoring takes the last logprob entry for the generated token.
    answered = "<|im_start|>user\nWhat is 2+2?<|im_end|>\n<|im_start|>assistant\nThe answer is: 4"
    eot = client.completions.create(model=name, prompt=answered, max_tokens=1, temperature=0, echo=True, logprobs=1)
    eot_lp = eot.choices[0].logprobs.token_logprobs
    check("an end-of-text token is in logprobs and usage but not in the text",
          eot.choices[0].finish_reason == "stop" and eot.choices[0].text == answered and eot.usage.completion_tokens == 1
          and len(eot_lp) == eot.usage.prompt_tokens + 1 and eot_lp[-1] is not None, repr((eot.choices[0], eot.usage)))

    # n > 1 with a seed: reproducible, and the choices differ.
    kw = dict(model=name, prompt="Once upon a time", max_tokens=12, temperature=1.0, n=3, seed=7)
    s1, s2 = client.completions.create(**kw), client.completions.create(**kw)
    t1, t2 = [x.text for x in s1.choices], [x.text for x in s2.choices]
    check("n = 3 gives three choices, indexed", [x.index for x in s1.choices] == [0, 1, 2])
    check("a seed reproduces the sample", t1 == t2, repr((t1, t2)))
    check("the n choices differ", len(set(t1)) > 1, repr(t1))

    # Stop strings end the text before them, also across token boundaries.
    st = client.completions.create(model=name, prompt="1, 2, 3, 4, 5,", max_tokens=20, temperature=0, stop=[", 8"])
    check("a stop string ends the text before it", st.choices[0].finish_reason == "stop" and ", 8" not in st.choices[0].text
          and st.choices[0].text.startswith(" 6, 7"), repr(st.choices[0].text))

    # echo + logprobs (what lm-eval's local-completions sends) against monolith perplexity, on
    # the exact fp32 weights: with 8-bit activations the serving engine's row-by-row attention
    # and perplexity's chunked one can round a code differently (about 0.5% here).
    passage = "The quick brown fox jumps over the lazy dog. It was a bright cold day in April, and the clocks were striking thirteen."
    exact, exact_port = start(a.monolith, a.model, ["--weights", "fp32"])
    try:
        exact_client = openai.OpenAI(base_url=f"http://127.0.0.1:{exact_port}/v1", api_key="unused", max_retries=0)
        e = exact_client.completions.create(model=name, prompt=passage, max_tokens=1, temperature=0, echo=True, logprobs=1)
    finally:
        stop(exact)
    lp = e.choices[0].logprobs
    ntok = len(json.loads(http(port, "/tokenize", {"content": passage})[1])["tokens"])
    check("echo returns the prompt and its token logprobs, the first null", e.choices[0].text.startswith(passage)
          and lp.token_logprobs[0] is None and len(lp.token_logprobs) == ntok + 1, repr(lp.token_logprobs[:3]))
    with tempfile.NamedTemporaryFile("w", suffix=".txt", delete=False) as f:
        f.write(passage)
    ppl = json.loads(subprocess.run([a.monolith, "perplexity", "--model", a.model, "--text", f.name, "--context", str(ntok), "--json",
                                     "--weights", "fp32"],
                                    capture_output=True, text=True, check=True).stdout)
    os.unlink(f.name)
    mean = -sum(lp.token_logprobs[1:ntok]) / (ntok - 1)
    check("prompt logprobs equal monolith perplexity's (1e-5)", abs(mean - ppl["mean_loss"]) <= 1e-5 * abs(ppl["mean_loss"]),
          f"{mean} vs {ppl['mean_loss']}")

    # Concurrent requests give what each gives alone.
    prompts = [f"Question {i}: what is the color of the sky? Answer:" for i in range(8)]
    alone = [client.completions.create(model=name, prompt=p, max_tokens=24, temperature=0, logprobs=0) for p in prompts]
    with concurrent.futures.ThreadPoolExecutor(8) as pool:
        together = list(pool.map(lambda p: client.completions.create(model=name, prompt=p, max_tokens=24, temperature=0, logprobs=0), prompts))
    same = sum(x.choices[0].text == y.choices[0].text for x, y in zip(alone, together))
    diff = max(abs(u - v) for x, y in zip(alone, together)
               for u, v in zip(x.choices[0].logprobs.token_logprobs, y.choices[0].logprobs.token_logprobs))
    check("8 concurrent greedy requests equal the same requests one at a time", same == 8, f"{same}/8 equal")
    check(f"and their logprobs within 1e-5 (max difference {diff:.2e})", diff <= 1e-5, f"max difference {diff}")

    # --deterministic: a greedy request alone and among 15 others gives identical tokens and
    # logprobs, on fp32 weights (where a batch would otherwise change the sums' order) and native.
    for weights in ["fp32", "native"]:
        det, det_port = start(a.monolith, a.model, ["--weights", weights, "--deterministic", "--max-batch", "16", "--kv-cache-tokens", "8192"])
        try:
            det_client = openai.OpenAI(base_url=f"http://127.0.0.1:{det_port}/v1", api_key="unused", max_retries=0)

            def ask(p):
                r = det_client.completions.create(model=name, prompt=p, max_tokens=16, temperature=0, logprobs=1, extra_body={"ignore_eos": True})
                return r.choices[0].logprobs.tokens, r.choices[0].logprobs.token_logprobs
            target = "The history of the printing press begins"
            solo = ask(target)
            others = [f"Item {i}: a short note about {w}" for i, w in enumerate(["rivers", "owls", "glass", "tea", "maps", "bells", "salt",
                                                                                 "ink", "wool", "clay", "kites", "moss", "rope", "jade", "fog"])]
            with concurrent.futures.ThreadPoolExecutor(16) as pool:
                crowd = list(pool.map(ask, [target] + others))[0]
        finally:
            stop(det)
        check(f"--deterministic ({weights}): a greedy request alone and among 15 others gives identical tokens and logprobs",
              solo == crowd, repr((solo, crowd)))

    # Errors: OpenAI's shapes and statuses.
    try:
        client.completions.create(model=name, prompt=prompt, max_tokens="many")
        check("a wrong type is a 400 naming the field", False)
    except openai.BadRequestError as err:
        check("a wrong type is a 400 naming the field", err.body.get("param") == "max_tokens", repr(err.body))
    try:
        client.completions.create(model="gpt-5", prompt=prompt, max_tokens=1)
        check("an unknown model is a 404", False)
    except openai.NotFoundError as err:
        check("an unknown model is a 404", err.body.get("code") == "model_not_found", repr(err.body))
    status, body = http(port, "/v1/completions", None, method="POST")
    check("an empty body is a 400 with an error object", status == 400 and "error" in json.loads(body), f"{status} {body}")
    status, body = http(port, "/v1/completions", {"prompt": prompt, "max_tokens": 10 ** 6})
    check("a huge max_tokens is a 400 naming it", status == 400 and json.loads(body)["error"]["param"] == "max_tokens", body)
    status, body = http(port, "/v1/completions", {"prompt": "", "max_tokens": 2})
    check("an empty prompt is a 400", status == 400 and json.loads(body)["error"]["param"] == "prompt", body)

    # Tokenizer endpoints and metrics.
    status, body = http(port, "/tokenize", {"content": "Hello world"})
    toks = json.loads(body)["tokens"]
    status, body = http(port, "/detokenize", {"tokens": toks})
    check("tokenize and detokenize round-trip", json.loads(body)["content"] == "Hello world", body)
    status, body = http(port, "/metrics")
    check("/metrics exposes the monolith_ metrics", status == 200 and "monolith_generation_tokens_total" in body
          and "monolith_time_to_first_token_seconds_bucket" in body and 'monolith_requests_total{status="400"}' in body)
    running = re.search(r"^monolith_running_batch_size (\S+)", body, re.M)
    check("no sequence is left running", running is not None and float(running.group(1)) == 0.0, repr(running and running.group(0)))


if __name__ == "__main__":
    main()
