#!/usr/bin/env python3
"""Load generator for OpenAI-compatible servers, as vLLM's benchmark_serving measures them:
N concurrent clients send streaming /v1/completions requests (Poisson arrivals at --rate, or all
at once), each for exactly --max-tokens tokens (ignore_eos); it reports output tokens/s, time to
first token and inter-token latency (p50/p99).

With --monolith and/or --llama-server it starts each server in turn on the same GGUF file and
thread count (loopback only), runs the same load at each --clients level, and prints them side
by side. Bounded: --requests per level and --timeout per request.

Usage:
  python3 scripts/bench_serve.py --model ~/.cache/monolith/SmolLM2-135M-Instruct.Q4_1.gguf \\
      --monolith .build/release/monolith --llama-server PATH/llama-server --clients 1,8 [--json OUT]
  python3 scripts/bench_serve.py --base-url http://127.0.0.1:8000 --clients 8     # a running server
"""
import argparse
import json
import os
import random
import signal
import socket
import statistics
import subprocess
import sys
import threading
import time
import urllib.request

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from bench_ab import cpu_name  # noqa: E402

PROMPTS = [
    "Write a short story about a lighthouse keeper who finds a message in a bottle.",
    "Explain how a refrigerator works to a ten-year-old.",
    "List some tips for learning a new programming language quickly.",
    "Describe the water cycle and why it matters for farming.",
    "What are the main causes of the French Revolution?",
    "Give me a recipe for a simple tomato soup.",
    "Why is the sky blue? Answer in a paragraph.",
    "Summarize the plot of a detective novel you like.",
]


WORDS = ("amber", "basalt", "cedar", "delta", "ember", "fjord", "garnet", "harbor", "iris", "juniper", "kelp", "lagoon",
         "meadow", "nickel", "orchid", "prairie", "quartz", "raven", "saffron", "tundra", "umber", "violet", "willow", "zephyr")


def prompt_for(i, distinct):
    """The i-th request's prompt: one of PROMPTS, led by three words that differ per request when
    `distinct` (as vLLM's random and ShareGPT datasets are), so no server reuses a cached prefix."""
    base = PROMPTS[i % len(PROMPTS)]
    if not distinct:
        return base
    rng = random.Random(i)
    return " ".join(rng.choice(WORDS).capitalize() if k == 0 else rng.choice(WORDS) for k in range(3)) + ". " + base


def one_request(base, prompt, max_tokens, timeout):
    body = json.dumps({"model": "default", "prompt": prompt, "max_tokens": max_tokens, "temperature": 0.8, "seed": 1,
                       "ignore_eos": True, "stream": True, "stream_options": {"include_usage": True}}).encode()
    req = urllib.request.Request(base + "/v1/completions", data=body, headers={"Content-Type": "application/json"})
    start = time.perf_counter()
    times, tokens = [], None
    with urllib.request.urlopen(req, timeout=timeout) as r:
        for raw in r:
            line = raw.decode().strip()
            if not line.startswith("data: ") or line == "data: [DONE]":
                continue
            obj = json.loads(line[6:])
            if obj.get("usage"):
                tokens = obj["usage"]["completion_tokens"]
            if obj.get("choices") and obj["choices"][0].get("text"):
                times.append(time.perf_counter())
    if not times:
        raise RuntimeError("no tokens streamed")
    ttft = times[0] - start
    itl = [b - a for a, b in zip(times, times[1:])]
    return {"ttft": ttft, "itl": itl, "tokens": tokens if tokens is not None else len(times), "end": times[-1]}


def run_load(base, clients, requests, rate, max_tokens, timeout, distinct=True, first=0, seed=0):
    rng = random.Random(seed)
    results, errors, lock = [], [], threading.Lock()
    sem = threading.Semaphore(clients)
    threads = []
    t0 = time.perf_counter()
    for i in range(requests):
        if rate > 0:
            time.sleep(rng.expovariate(rate))
        sem.acquire()

        def work(i=i):
            try:
                r = one_request(base, prompt_for(first + i, distinct), max_tokens, timeout)
                with lock:
                    results.append(r)
            except Exception as e:  # noqa: BLE001 - reported, not fatal
                with lock:
                    errors.append(repr(e))
            finally:
                sem.release()
        t = threading.Thread(target=work)
        t.start()
        threads.append(t)
    for t in threads:
        t.join()
    wall = time.perf_counter() - t0
    ttft = sorted(r["ttft"] for r in results)
    itl = sorted(x for r in results for x in r["itl"])

    def pct(xs, p):
        return xs[min(len(xs) - 1, int(p * len(xs)))] * 1000 if xs else float("nan")
    return {"clients": clients, "requests": requests, "errors": len(errors), "first_errors": errors[:3],
            "output_tokens_per_second": sum(r["tokens"] for r in results) / wall, "wall_seconds": wall,
            "ttft_ms_p50": pct(ttft, 0.5), "ttft_ms_p99": pct(ttft, 0.99), "itl_ms_p50": pct(itl, 0.5), "itl_ms_p99": pct(itl, 0.99),
            "ttft_ms_mean": statistics.mean(ttft) * 1000 if ttft else float("nan")}


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_ready(base, proc, timeout=180):
    deadline = time.time() + timeout
    while time.time() < deadline:
        if proc.poll() is not None:
            sys.exit(f"the server exited with {proc.returncode}")
        try:
            with urllib.request.urlopen(base + "/health", timeout=2) as r:
                if r.status == 200:
                    return
        except Exception:  # noqa: BLE001 - not up yet
            pass
        time.sleep(0.5)
    sys.exit("the server did not become ready")


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--base-url")
    ap.add_argument("--model", default=os.path.expanduser("~/.cache/monolith/SmolLM2-135M-Instruct.Q4_1.gguf"))
    ap.add_argument("--monolith")
    ap.add_argument("--monolith-args", default="", help="extra flags for monolith serve, e.g. '--weights fp32 --deterministic'")
    ap.add_argument("--llama-server")
    ap.add_argument("--threads", type=int, default=os.cpu_count())
    ap.add_argument("--clients", default="1,8")
    ap.add_argument("--requests", type=int, default=32)
    ap.add_argument("--rate", type=float, default=0, help="Poisson arrival rate in requests/s (0: as fast as clients allow)")
    ap.add_argument("--max-tokens", type=int, default=64)
    ap.add_argument("--timeout", type=float, default=300)
    ap.add_argument("--prompts", choices=["distinct", "repeated"], default="distinct",
                    help="distinct: every request's prompt starts differently (no prefix reuse); repeated: 8 prompts in turn")
    ap.add_argument("--json")
    a = ap.parse_args()
    levels = [int(x) for x in a.clients.split(",")]

    servers = []
    if a.base_url:
        servers.append(("server", None))
    if a.monolith:
        servers.append(("Monolith", lambda port: [a.monolith, "serve", "--model", a.model, "--port", str(port), "--threads", str(a.threads),
                                                  "--max-batch", str(max(levels)), "--served-model-name", "default", *a.monolith_args.split()]))
    if a.llama_server:
        servers.append(("llama-server", lambda port: [a.llama_server, "-m", a.model, "--port", str(port), "-t", str(a.threads),
                                                      "-np", str(max(levels)), "-c", str(2048 * max(levels)), "--host", "127.0.0.1"]))
    report = {"machine": cpu_name(), "threads": a.threads, "model": os.path.basename(a.model), "max_tokens": a.max_tokens,
              "prompts": a.prompts, "monolith_args": a.monolith_args, "runs": {}}
    for name, command in servers:
        proc = None
        if command:
            port = free_port()
            base = f"http://127.0.0.1:{port}"
            proc = subprocess.Popen(command(port), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            wait_ready(base, proc)
        else:
            base = a.base_url.rstrip("/")
        try:
            run_load(base, 1, 2, 0, 8, a.timeout, first=10**6)  # warm-up, on prompts the load does not send
            report["runs"][name] = [run_load(base, c, a.requests, a.rate, a.max_tokens, a.timeout, a.prompts == "distinct") for c in levels]
        finally:
            if proc:
                proc.send_signal(signal.SIGINT)
                try:
                    proc.wait(timeout=30)
                except subprocess.TimeoutExpired:
                    proc.kill()
    print(f"{report['model']} on {report['machine']}, {a.threads} threads, {a.max_tokens}-token completions, {a.prompts} prompts, {a.requests} requests per level")
    print(f"{'server':14}{'clients':>8}{'out tok/s':>11}{'TTFT p50':>10}{'TTFT p99':>10}{'ITL p50':>9}{'ITL p99':>9}{'errors':>8}")
    for name, runs in report["runs"].items():
        for r in runs:
            print(f"{name:14}{r['clients']:8d}{r['output_tokens_per_second']:11.1f}{r['ttft_ms_p50']:10.0f}{r['ttft_ms_p99']:10.0f}"
                  f"{r['itl_ms_p50']:9.1f}{r['itl_ms_p99']:9.1f}{r['errors']:8d}")
    if a.json:
        with open(a.json, "w") as f:
            json.dump(report, f, indent=1)


if __name__ == "__main__":
    main()
