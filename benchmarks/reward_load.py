"""Load test of ``POST /get_reward`` on loopback: OpenRLHF-style clients, requests and rewards per second, 0 errors.

    python benchmarks/reward_load.py                               # fake rater with a simulated model cost
    python benchmarks/reward_load.py --concurrency 16 --queries 8 --requests 400
    python benchmarks/reward_load.py --rater run:out/demo/runs/flame_mini --requests 64 --concurrency 1,4

Each request is what OpenRLHF's ``remote_rm_fn`` sends: ``{"query": [...]}`` with ``--queries`` ChatML-templated
prompt+response texts, every one unique (no answer from the judgment cache, which is off). The server runs in a
child process and the clients are `serve_load`'s keep-alive connections (see that script for why, and for the
simulated cost: ``--cost-ms`` per rater call plus ``--per-item-ms`` per item). The run fails on any 5xx, lost
request or answer without one reward per query.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import multiprocessing as mp
import os
import platform
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from serve_load import Connection, batch_totals, build_rater, percentiles  # noqa: E402


def reward_body(i: int, n: int) -> bytes:
    """One OpenRLHF request: ``n`` ChatML queries (prompt + response), unique to request ``i``."""
    queries = [
        f"<|im_start|>user\nQuestion {i}.{k}: what is {i} + {k}?<|im_end|>\n"
        f"<|im_start|>assistant\nIt is {i + k}, since {i} plus {k} makes {i + k}.<|im_end|>"
        for k in range(n)
    ]
    return json.dumps({"query": queries}).encode()


async def run_level(url: str, concurrency: int, n_requests: int, n_queries: int, max_seconds: float) -> dict:
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
            t0 = time.perf_counter()
            try:
                status, data = await conn.request("POST", "/get_reward", reward_body(i, n_queries))
                statuses[status] = statuses.get(status, 0) + 1
                if status == 200 and len(json.loads(data).get("rewards", ())) != n_queries:
                    errors.append(f"request {i}: not one reward per query")
            except (OSError, ValueError, asyncio.IncompleteReadError) as e:
                errors.append(f"request {i}: {type(e).__name__}")
                await conn.close()
            latencies.append(time.perf_counter() - t0)

    await asyncio.gather(*(c.request("GET", "/health") for c in conns))
    before = batch_totals((await conns[0].request("GET", "/metrics"))[1].decode())
    t0 = time.perf_counter()
    await asyncio.gather(*(worker(c) for c in conns))
    wall = time.perf_counter() - t0
    after = batch_totals((await conns[0].request("GET", "/metrics"))[1].decode())
    for c in conns:
        await c.close()
    calls, items = after[0] - before[0], after[1] - before[1]
    return {
        "clients": concurrency,
        "queries_per_request": n_queries,
        "sent": next_index,
        "statuses": statuses,
        "server_errors": sum(v for k, v in statuses.items() if k >= 500),
        "lost": next_index - sum(statuses.values()),
        "errors": errors[:5],
        "seconds": wall,
        "rps": next_index / wall,
        "rewards_per_s": statuses.get(200, 0) * n_queries / wall,
        "rater_calls": calls,
        "mean_batch": items / max(calls, 1),
        **percentiles(latencies),
    }


def _serve(args, conn, stop) -> None:
    from flame.serve.app import Settings, running_server

    settings = Settings(
        cache=False, max_batch=args.max_batch, batch_wait_ms=args.batch_wait_ms, request_timeout_s=120
    )
    with running_server(build_rater(args), settings) as url:
        conn.send(url)
        stop.wait()


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--rater", default="fake", help="fake (simulated cost) or any rater spec")
    p.add_argument("--requests", type=int, default=400, help="requests per concurrency level")
    p.add_argument("--queries", type=int, default=8, help="queries per request (an OpenRLHF micro-batch)")
    p.add_argument("--concurrency", default="1,8,16")
    p.add_argument("--max-seconds", type=float, default=60, help="time bound per level")
    p.add_argument("--cost-ms", type=float, default=20.0, help="simulated fixed cost of one rater call")
    p.add_argument("--per-item-ms", type=float, default=0.5, help="simulated cost per item in a call")
    p.add_argument("--max-batch", type=int, default=32)
    p.add_argument("--batch-wait-ms", type=float, default=10.0)
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
        for c in (int(x) for x in args.concurrency.split(",")):
            res = asyncio.run(run_level(url, c, args.requests, args.queries, args.max_seconds))
            results.append(res)
            print(
                f"{c:>3} clients x {args.queries} queries: {res['sent']} requests, {res['rps']:.0f} req/s, "
                f"{res['rewards_per_s']:.0f} rewards/s, p50 {res['p50_ms']:.1f} ms, p99 {res['p99_ms']:.1f} ms, "
                f"mean batch {res['mean_batch']:.1f}, 5xx {res['server_errors']}, lost {res['lost']}, "
                f"errors {len(res['errors'])}, statuses {res['statuses']}",
                flush=True,
            )
    finally:
        stop.set()
        server.join(timeout=15)
        if server.is_alive():
            server.terminate()
    report = {
        "rater": args.rater,
        "cost_ms": args.cost_ms if args.rater == "fake" else None,
        "per_item_ms": args.per_item_ms if args.rater == "fake" else None,
        "levels": results,
        "machine": f"{platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}",
    }
    if args.out:
        Path(args.out).write_text(json.dumps(report, indent=1))
    bad = sum(r["server_errors"] + r["lost"] + len(r["errors"]) for r in results)
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
