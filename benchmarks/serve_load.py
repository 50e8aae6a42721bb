"""Load test of `flame serve` on loopback: requests per second and p50/p99 latency at 1, 8 and 32 clients.

    python benchmarks/serve_load.py                        # fake rater with a simulated forward-pass cost
    python benchmarks/serve_load.py --requests 2000 --concurrency 32 --cost-ms 0   # pure service overhead
    python benchmarks/serve_load.py --rater smollm2 --requests 64 --concurrency 1,8

The server runs in a child process (its own GIL), the clients in this one (asyncio, keep-alive HTTP/1.1). Every run is
bounded: ``--requests`` in total per concurrency level, and ``--max-seconds`` per level. Each request is one
pairwise item with a unique prompt, so no answer comes from the judgment cache (which is off unless
``--cache``). The baseline calls the same rater in-process, one request at a time (``rater.judge([ex])``).

Why a simulated cost: a model's forward pass costs a fixed part (weights streamed through the cores once per
call) plus a part per item. ``--cost-ms`` and ``--per-item-ms`` model that with a sleep (which, like torch
kernels, releases the GIL), so the benefit of micro-batching shows without loading the CPU with a model.
Zero loss is checked: every request gets a response, and the run fails on any 5xx.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import multiprocessing as mp
import os
import platform
import socket
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from flame.raters.baselines import FakeRater  # noqa: E402


class SimulatedModelRater(FakeRater):
    """The fake rater's judgments, at the price of a model call: ``cost_ms + per_item_ms * n`` per call."""

    spec = "fake"

    def __init__(self, cost_ms: float = 20.0, per_item_ms: float = 0.5, **kw):
        super().__init__(**kw)
        self.cost_s, self.per_item_s = cost_ms / 1000, per_item_ms / 1000

    def _judge_batch(self, examples):
        if self.cost_s or self.per_item_s:
            time.sleep(self.cost_s + self.per_item_s * len(examples))
        return super()._judge_batch(examples)


def build_rater(args):
    if args.rater == "fake":
        return SimulatedModelRater(args.cost_ms, args.per_item_ms)
    from flame.raters import load_rater

    return load_rater(args.rater)


def item(i: int) -> dict:
    return {
        "type": "pairwise",
        "prompt": f"Question {i}: what is {i} + {i}?",
        "response_a": f"It is {2 * i}.",
        "response_b": f"I think the answer is {2 * i + 1}, but I am not sure.",
    }


def _serve(args, conn, stop) -> None:
    from flame.serve.app import Settings, running_server

    settings = Settings(
        cache=bool(args.cache),
        max_batch=args.max_batch,
        batch_wait_ms=args.batch_wait_ms,
        max_queue=args.max_queue,
        request_timeout_s=120,
    )
    with running_server(build_rater(args), settings) as url:
        conn.send(url)
        stop.wait()


class Connection:
    """A minimal keep-alive HTTP/1.1 client on asyncio streams.

    Why not httpx here: its async pool costs milliseconds of CPU per request at 32 connections, and on a
    small machine the client's own overhead, not the server, would then set the figures."""

    def __init__(self, host: str, port: int):
        self.host, self.port = host, port
        self.reader = self.writer = None

    async def request(self, method: str, path: str, body: bytes = b"") -> tuple[int, bytes]:
        if self.writer is None:
            self.reader, self.writer = await asyncio.open_connection(self.host, self.port)
            sock = self.writer.get_extra_info("socket")
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        head = (
            f"{method} {path} HTTP/1.1\r\nHost: {self.host}\r\nContent-Type: application/json\r\n"
            f"Content-Length: {len(body)}\r\n\r\n"
        ).encode()
        self.writer.write(head + body)
        await self.writer.drain()
        status_line = await self.reader.readline()
        if not status_line:
            raise ConnectionError("the server closed the connection")
        status = int(status_line.split()[1])
        length, close = 0, False
        while True:
            line = await self.reader.readline()
            if line in (b"\r\n", b""):
                break
            name, _, value = line.decode("latin-1").partition(":")
            if name.lower() == "content-length":
                length = int(value)
            elif name.lower() == "connection" and value.strip().lower() == "close":
                close = True
        data = await self.reader.readexactly(length)
        if close:
            await self.close()
        return status, data

    async def close(self):
        if self.writer is not None:
            self.writer.close()
            self.reader = self.writer = None


async def run_level(url: str, concurrency: int, n_requests: int, max_seconds: float, offset: int) -> dict:
    host, port = url.removeprefix("http://").split(":")
    latencies: list[float] = []
    statuses: dict[int, int] = {}
    errors: list[str] = []
    next_index = 0
    deadline = time.monotonic() + max_seconds
    conns = [Connection(host, int(port)) for _ in range(concurrency)]

    async def worker(conn: Connection):
        nonlocal next_index
        while next_index < n_requests and time.monotonic() < deadline:
            i = next_index
            next_index += 1
            body = json.dumps(item(offset + i)).encode()
            t0 = time.perf_counter()
            try:
                status, data = await conn.request("POST", "/v1/judge", body)
                statuses[status] = statuses.get(status, 0) + 1
                if status == 200 and json.loads(data).get("prediction") not in ("A", "B"):
                    errors.append(f"request {i}: no prediction")
            except (OSError, ValueError, asyncio.IncompleteReadError) as e:
                errors.append(f"request {i}: {type(e).__name__}")
                await conn.close()
            latencies.append(time.perf_counter() - t0)

    # Warm-up: open every client's connection first (connection setup is not what is measured).
    await asyncio.gather(*(c.request("GET", "/health") for c in conns))
    before = batch_totals((await conns[0].request("GET", "/metrics"))[1].decode())
    t0 = time.perf_counter()
    await asyncio.gather(*(worker(c) for c in conns))
    wall = time.perf_counter() - t0
    after = batch_totals((await conns[0].request("GET", "/metrics"))[1].decode())
    for c in conns:
        await c.close()
    sent = next_index
    calls, items = after[0] - before[0], after[1] - before[1]
    return {
        "clients": concurrency,
        "sent": sent,
        "ok": statuses.get(200, 0),
        "statuses": statuses,
        "server_errors": sum(v for k, v in statuses.items() if k >= 500),
        "lost": sent - sum(statuses.values()),
        "errors": errors[:5],
        "seconds": wall,
        "rps": sent / wall,
        "rater_calls": calls,
        "mean_batch": items / max(calls, 1),
        **percentiles(latencies),
    }


def batch_totals(metrics: str) -> tuple[float, float]:
    """(rater calls, items judged) from the flame_batch_size histogram."""
    values = {}
    for line in metrics.splitlines():
        if line.startswith(("flame_batch_size_count", "flame_batch_size_sum")):
            name, value = line.split()
            values[name] = float(value)
    return values.get("flame_batch_size_count", 0.0), values.get("flame_batch_size_sum", 0.0)


def percentiles(latencies: list[float]) -> dict:
    xs = sorted(latencies)
    if not xs:
        return {"p50_ms": float("nan"), "p99_ms": float("nan")}

    def q(p):
        return 1000 * xs[min(len(xs) - 1, int(round(p * (len(xs) - 1))))]

    return {"p50_ms": q(0.50), "p99_ms": q(0.99), "mean_ms": 1000 * statistics.fmean(xs)}


def direct_baseline(args, n: int) -> dict:
    """The same rater, in-process, one request (one item) at a time."""
    from flame.serve.schemas import item_to_example, parse_item

    rater = build_rater(args)
    examples = [item_to_example(parse_item(item(10**6 + i), ""), i) for i in range(n)]
    latencies = []
    t0 = time.perf_counter()
    for ex in examples:
        t = time.perf_counter()
        rater.judge([ex])
        latencies.append(time.perf_counter() - t)
    wall = time.perf_counter() - t0
    return {"clients": "direct", "sent": n, "rps": n / wall, "seconds": wall, **percentiles(latencies)}


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--rater", default="fake", help="fake (simulated cost) or any rater spec")
    p.add_argument("--requests", type=int, default=2000, help="requests per concurrency level")
    p.add_argument("--concurrency", default="1,8,32")
    p.add_argument("--max-seconds", type=float, default=120, help="time bound per level")
    p.add_argument("--cost-ms", type=float, default=20.0, help="simulated fixed cost of one rater call")
    p.add_argument("--per-item-ms", type=float, default=0.5, help="simulated cost per item in a call")
    p.add_argument("--max-batch", type=int, default=32)
    p.add_argument("--batch-wait-ms", type=float, default=10.0)
    p.add_argument("--max-queue", type=int, default=2048)
    p.add_argument("--direct-requests", type=int, default=200, help="requests for the one-at-a-time baseline")
    p.add_argument("--cache", action="store_true", help="use the judgment cache (off: every item is judged)")
    p.add_argument("--out", help="also write the results as JSON")
    args = p.parse_args(argv)

    ctx = mp.get_context("spawn")
    parent, child = ctx.Pipe()
    stop = ctx.Event()
    server = ctx.Process(target=_serve, args=(args, child, stop), daemon=True)
    server.start()
    if not parent.poll(300):
        print("the server did not start", file=sys.stderr)
        return 1
    url = parent.recv()
    results = []
    try:
        for k, c in enumerate(int(x) for x in args.concurrency.split(",")):
            res = asyncio.run(run_level(url, c, args.requests, args.max_seconds, offset=k * 10**5))
            results.append(res)
            print(
                f"{c:>3} clients: {res['sent']} requests, {res['rps']:.0f} req/s, p50 {res['p50_ms']:.1f} ms, "
                f"p99 {res['p99_ms']:.1f} ms, mean batch {res['mean_batch']:.1f}, 5xx {res['server_errors']}, "
                f"lost {res['lost']}, statuses {res['statuses']}",
                flush=True,
            )
    finally:
        stop.set()
        server.join(timeout=15)
        if server.is_alive():
            server.terminate()
    base = direct_baseline(args, args.direct_requests)
    print(
        f"direct, one request at a time: {base['rps']:.0f} req/s, p50 {base['p50_ms']:.1f} ms, p99 {base['p99_ms']:.1f} ms"
    )
    report = {
        "rater": args.rater,
        "cost_ms": args.cost_ms if args.rater == "fake" else None,
        "per_item_ms": args.per_item_ms if args.rater == "fake" else None,
        "max_batch": args.max_batch,
        "batch_wait_ms": args.batch_wait_ms,
        "levels": results,
        "direct": base,
        "machine": f"{platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}",
    }
    if args.out:
        Path(args.out).write_text(json.dumps(report, indent=1))
    bad = sum(r["server_errors"] + r["lost"] for r in results)
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
