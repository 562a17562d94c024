#!/usr/bin/env python3
"""Bad clients and long load against `monolith serve`, over raw sockets (loopback only):

- flood: --flood requests at once against --max-batch 8 --max-queue 64: every one gets a 200 or
  a 429 with Retry-After and an OpenAI error body, nothing else, and no slot leaks;
- a client that sends half a request and stalls is dropped after --idle-timeout, while other
  requests are served;
- a client that disconnects mid-stream frees its slot at once;
- a body that is not UTF-8 is a 400 with an error body;
- soak: --soak SECONDS of mixed load (streaming and not, n > 1, chat, echo + logprobs, clients
  that hang up, bad requests) from 6 clients, sampling the server's RSS; no unexpected status,
  and, for soaks of 2 minutes or more, RSS flat (the last quarter's peak within 10 % of the
  second quarter's).

Prints 'serve stress: N passed, 0 failed' on success; --json writes the measurements.

    python3 scripts/serve_stress.py --monolith .build/release/monolith [--model smollm2-135m-instruct] \\
        [--flood 1000] [--soak 600] [--json out.json]
"""
import argparse
import asyncio
import json
import os
import random
import re
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from serve_process import start, stop  # noqa: E402

passed = failed = 0


def check(name, ok, detail=""):
    global passed, failed
    passed, failed = passed + bool(ok), failed + (not ok)
    print(f"{'ok' if ok else 'FAIL'}: {name}{'' if ok else ' ' + str(detail)}", flush=True)


async def request(port, path, body=None, raw=None, timeout=600):
    """One HTTP/1.1 request on its own connection: (status, headers, body bytes)."""
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    data = raw if raw is not None else (json.dumps(body).encode() if body is not None else b"")
    method = "POST" if body is not None or raw is not None else "GET"
    writer.write(f"{method} {path} HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: {len(data)}\r\n"
                 f"Connection: close\r\n\r\n".encode() + data)
    await writer.drain()
    try:
        response = await asyncio.wait_for(reader.read(-1), timeout)
    finally:
        writer.close()
    head, _, rest = response.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    headers = {k.lower(): v.strip() for k, _, v in (ln.partition(":") for ln in lines[1:])}
    if headers.get("transfer-encoding") == "chunked":
        out = b""
        while rest:
            size, _, rest = rest.partition(b"\r\n")
            n = int(size, 16)
            if n == 0:
                break
            out, rest = out + rest[:n], rest[n + 2:]
        rest = out
    return int(lines[0].split()[1]), headers, rest


def metric(port, name):
    status, _, body = asyncio.run(request(port, "/metrics"))
    m = re.search(rf"^{name} (\S+)", body.decode(), re.M)
    return float(m.group(1)) if m else None


def idle(port):
    """True once nothing runs or waits and no key/value position is held."""
    for _ in range(50):
        if metric(port, "monolith_running_batch_size") == 0 and metric(port, "monolith_queue_depth") == 0 \
                and metric(port, "monolith_kv_cache_tokens_in_use") == 0:
            return True
        time.sleep(0.1)
    return False


def is_error_body(body, kind=None):
    try:
        e = json.loads(body)["error"]
        return isinstance(e["message"], str) and (kind is None or e["type"] == kind)
    except (ValueError, KeyError, TypeError):
        return False


async def flood(port, count):
    bodies = [{"prompt": f"Flood request {i}: say something.", "max_tokens": 4, "temperature": 0} for i in range(count)]
    results = await asyncio.gather(*(request(port, "/v1/completions", b) for b in bodies), return_exceptions=True)
    statuses = {}
    bad = []
    for r in results:
        if isinstance(r, Exception):
            bad.append(repr(r))
            continue
        status, headers, body = r
        statuses[status] = statuses.get(status, 0) + 1
        if status == 429 and not (headers.get("retry-after") and is_error_body(body, "rate_limit_error")):
            bad.append(f"429 without Retry-After or error body: {headers} {body[:200]}")
        if status == 200 and json.loads(body)["usage"]["completion_tokens"] < 1:
            bad.append(f"200 without tokens: {body[:200]}")
    return statuses, bad


async def stalled_client(port, timeout):
    """Sends half a request, then waits: returns seconds until the server closes the connection."""
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    writer.write(b"POST /v1/completions HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{\"prompt\":")
    await writer.drain()
    t0 = time.time()
    # Meanwhile another client is served.
    served = await request(port, "/v1/completions", {"prompt": "Hello", "max_tokens": 4})
    try:
        await asyncio.wait_for(reader.read(-1), timeout * 3 + 10)
        closed = time.time() - t0
    except asyncio.TimeoutError:
        closed = None
    writer.close()
    return closed, served[0]


async def hang_up_mid_stream(port):
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    data = json.dumps({"prompt": "Tell me a long story.", "max_tokens": 1000, "ignore_eos": True, "stream": True}).encode()
    writer.write(f"POST /v1/completions HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: {len(data)}\r\n\r\n".encode()
                 + data)
    await writer.drain()
    events = 0
    while events < 3:
        line = await reader.readline()
        events += line.startswith(b"data: ")
    writer.transport.abort()
    return events


async def soak(port, seconds, pid, samples):
    """Mixed load from 6 clients for `seconds`; returns unexpected outcomes."""
    deadline, unexpected, counts = time.time() + seconds, [], {}
    kinds = ["stream", "plain", "n2", "chat", "echo", "hangup", "bad"]

    async def client(k):
        rng = random.Random(k)
        while time.time() < deadline:
            kind = rng.choice(kinds)
            counts[kind] = counts.get(kind, 0) + 1
            prompt = f"Client {k} asks question {rng.randrange(10 ** 6)}: why is the sea salty?"
            try:
                if kind == "hangup":
                    await hang_up_mid_stream(port)
                    continue
                if kind == "chat":
                    status, _, body = await request(port, "/v1/chat/completions",
                                                    {"messages": [{"role": "user", "content": prompt}], "max_tokens": 24})
                elif kind == "bad":
                    status, _, body = await request(port, "/v1/completions", {"prompt": prompt, "max_tokens": -3})
                    if status != 400 or not is_error_body(body):
                        unexpected.append(f"bad: {status} {body[:200]}")
                    continue
                else:
                    body = {"prompt": prompt, "max_tokens": rng.randrange(1, 48), "temperature": 0.7, "seed": k}
                    body.update({"stream": {"stream": True}, "plain": {}, "n2": {"n": 2},
                                 "echo": {"echo": True, "logprobs": 1, "max_tokens": 1}}[kind])
                    status, _, body = await request(port, "/v1/completions", body)
                if status != 200:
                    unexpected.append(f"{kind}: {status} {body[:200]}")
            except Exception as e:  # noqa: BLE001 - counted as a failure
                unexpected.append(f"{kind}: {e!r}")

    async def sampler():
        while time.time() < deadline:
            with open(f"/proc/{pid}/status") as f:
                rss = int(re.search(r"VmRSS:\s+(\d+)", f.read()).group(1)) / 1024
            samples.append((round(time.time(), 1), rss))
            await asyncio.sleep(2)

    await asyncio.gather(sampler(), *(client(k) for k in range(6)))
    return unexpected, counts


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--monolith", default=".build/release/monolith")
    ap.add_argument("--model", default="smollm2-135m-instruct")
    ap.add_argument("--flood", type=int, default=1000)
    ap.add_argument("--idle-timeout", type=float, default=3)
    ap.add_argument("--soak", type=float, default=30, help="seconds of mixed load")
    ap.add_argument("--json")
    a = ap.parse_args()
    proc, port = start(a.monolith, a.model, ["--max-batch", "8", "--max-queue", "64", "--kv-cache-tokens", "8192",
                                             "--idle-timeout", str(a.idle_timeout)])
    report = {}
    try:
        t0 = time.time()
        statuses, bad = asyncio.run(flood(port, a.flood))
        report["flood"] = {"requests": a.flood, "statuses": statuses, "seconds": round(time.time() - t0, 1)}
        print(f"flood: {a.flood} requests at once in {time.time() - t0:.1f} s: {statuses}")
        check("every flooded request gets a 200 or a 429 with Retry-After and an error body",
              not bad and set(statuses) <= {200, 429} and sum(statuses.values()) == a.flood, bad[:3])
        check("the queue admits at least --max-batch + --max-queue of them", statuses.get(200, 0) >= 72, statuses)
        check("after the flood no slot, queue entry or cache position is held", idle(port))

        closed, served = asyncio.run(stalled_client(port, a.idle_timeout))
        report["stalled_client_closed_after_s"] = closed
        check("a client that stalls mid-request is dropped after --idle-timeout, others are served meanwhile",
              served == 200 and closed is not None and a.idle_timeout * 0.9 <= closed <= a.idle_timeout * 3 + 5, (closed, served))

        asyncio.run(hang_up_mid_stream(port))
        check("a client that disconnects mid-stream frees its slot at once", idle(port))

        status, _, body = asyncio.run(request(port, "/v1/completions", raw=b'{"prompt": "\xff\xfe abc", "max_tokens": 2}'))
        check("a body that is not UTF-8 is a 400 with an error body", status == 400 and is_error_body(body), (status, body[:200]))

        if a.soak > 0:
            samples = []
            unexpected, counts = asyncio.run(soak(port, a.soak, proc.pid, samples))
            rss = [r for _, r in samples]
            q = max(1, len(rss) // 4)
            second, last = max(rss[q:2 * q] or rss), max(rss[-q:])
            report["soak"] = {"seconds": a.soak, "requests": counts, "unexpected": unexpected[:10], "rss_mib": samples,
                              "rss_first": rss[0], "rss_second_quarter_peak": second, "rss_last_quarter_peak": last, "rss_max": max(rss)}
            print(f"soak: {a.soak:.0f} s, {sum(counts.values())} requests {counts}; RSS MiB first {rss[0]:.0f}, "
                  f"second-quarter peak {second:.0f}, last-quarter peak {last:.0f}, max {max(rss):.0f}")
            check("soak: no unexpected status or error", not unexpected, unexpected[:3])
            if a.soak >= 120:  # shorter runs are still warming up (allocator pools, cached prompts)
                check("soak: RSS flat (last quarter's peak within 10 % of the second quarter's)", last <= second * 1.1, (second, last))
            check("after the soak nothing is held", idle(port))
    finally:
        code = stop(proc, timeout=60)
    check("the server exits 0 on SIGINT", code == 0, code)
    if a.json:
        with open(a.json, "w") as f:
            json.dump(report, f, indent=1)
    print(f"serve stress: {passed} passed, {failed} failed")
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
