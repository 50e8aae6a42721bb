"""A bounded load test: 600 requests from 32 concurrent clients, zero 5xx and zero lost requests."""

from __future__ import annotations

import asyncio
import importlib.util
from pathlib import Path

import pytest
from serve_helpers import settings

from flame.serve.app import running_server


def load_benchmark_module():
    path = Path(__file__).resolve().parents[2] / "benchmarks" / "serve_load.py"
    spec = importlib.util.spec_from_file_location("serve_load", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.mark.slow
def test_32_clients_lose_nothing():
    bench = load_benchmark_module()
    rater = bench.SimulatedModelRater(cost_ms=5, per_item_ms=0.1)
    with running_server(rater, settings(request_timeout_s=60)) as url:
        res = asyncio.run(bench.run_level(url, concurrency=32, n_requests=600, max_seconds=60, offset=0))
    assert res["sent"] == 600
    assert res["statuses"] == {200: 600}, res
    assert res["server_errors"] == 0 and res["lost"] == 0 and not res["errors"]
    assert res["mean_batch"] > 4  # the requests were batched
