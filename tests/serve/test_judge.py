"""POST /v1/judge through a real uvicorn server on 127.0.0.1: shapes, probabilities, cache, batching."""

from __future__ import annotations

import concurrent.futures as cf
import io
import json

import httpx
import pytest
from serve_helpers import CountingRater, pair, settings

from flame.data.files import load_benchmark_file, write_benchmark_file
from flame.format import render_input
from flame.raters.baselines import FakeRater
from flame.serve.app import running_server

ROWS = [
    {"id": "p1", "prompt": "What is 2 + 2?", "response_a": "4", "response_b": "It is 5."},
    {
        "id": "p2",
        "prompt": "Name a colour.",
        "response_a": "Blue.",
        "response_b": "",
        "criterion": "Be brief.",
    },
]


@pytest.fixture(scope="module")
def server():
    rater = CountingRater()
    with running_server(rater, settings()) as url:
        yield url, rater


def test_single_pairwise_item_matches_the_direct_rater_and_the_benchmark_file(server, tmp_path):
    url, _ = server
    path = write_benchmark_file(tmp_path / "pairs.jsonl", ROWS)
    direct = FakeRater().judge(load_benchmark_file(path).examples)
    for row, want, ex in zip(ROWS, direct, load_benchmark_file(path).examples, strict=True):
        item = {"type": "pairwise", **row, "return_input": True}
        r = httpx.post(f"{url}/v1/judge", json=item)
        assert r.status_code == 200, r.text
        got = r.json()
        assert got["id"] == row["id"]
        assert got["prediction"] == want.prediction
        assert got["probs"] == pytest.approx(want.probs, abs=0)
        assert got["parse_failure"] is False
        # The rendered input is the one `flame rate FILE` renders for the same row.
        assert got["input"] == render_input(ex)
        assert got["rater"] == "fake"


def test_list_of_items_of_every_shape(server):
    url, _ = server
    body = {
        "items": [
            pair(),
            {"type": "pointwise", "prompt": "Say hi.", "response": "Hello!", "scale": [1, 5]},
            {
                "type": "classification",
                "fields": {"claim": "The sky is green.", "evidence": "The sky is blue."},
                "labels": ["supported", "refuted"],
                "instruction": "Is the claim supported by the evidence?",
            },
            {
                "task": "summeval_coherence_pointwise_v1",
                "fields": {"article": "A long text.", "summary": "Text."},
            },
        ],
        "return_input": True,
    }
    r = httpx.post(f"{url}/v1/judge", json=body)
    assert r.status_code == 200, r.text
    results = r.json()["results"]
    assert [res["id"] for res in results] == ["0", "1", "2", "3"]
    assert set(results[0]["probs"]) == {"A", "B"}
    assert set(results[1]["probs"]) == {"1", "2", "3", "4", "5"}
    assert results[1]["expected_score"] == pytest.approx(
        sum(int(k) * p for k, p in results[1]["probs"].items())
    )
    assert set(results[2]["probs"]) == {"supported", "refuted"}
    assert "summary: Text." in results[3]["input"]
    for res in results:
        assert sum(res["probs"].values()) == pytest.approx(1.0)
        assert res["prediction"] == max(res["probs"], key=res["probs"].get)


def test_return_input_is_off_by_default(server):
    url, _ = server
    r = httpx.post(f"{url}/v1/judge", json=pair())
    assert "input" not in r.json()


def test_tie_label_space_on_request(server):
    url, _ = server
    r = httpx.post(f"{url}/v1/judge", json=pair(allow_tie=True))
    assert set(r.json()["probs"]) == {"A", "B", "tie"}


def test_concurrent_requests_share_rater_calls():
    """32 requests sent together are judged in a few calls, not 32 (the micro-batcher)."""
    rater = CountingRater(delay=0.05)  # a forward pass that takes a while, as a model's does
    with (
        running_server(rater, settings(max_batch=32, batch_wait_ms=20)) as url,
        httpx.Client(base_url=url) as client,
    ):
        client.get("/health")

        def one(i):
            return client.post("/v1/judge", json=pair(prompt=f"question {i}")).status_code

        with cf.ThreadPoolExecutor(32) as pool:
            codes = list(pool.map(one, range(32)))
        metrics = client.get("/metrics").text
    assert codes == [200] * 32
    assert sum(rater.calls) == 32
    assert len(rater.calls) <= 8, rater.calls
    assert max(rater.calls) >= 4
    assert f"flame_batch_size_count {len(rater.calls)}" in metrics


def test_judgments_hit_the_sqlite_cache_the_cli_uses(tmp_path):
    from flame.raters.runner import rate

    db = tmp_path / "judgments.sqlite"
    path = write_benchmark_file(tmp_path / "pairs.jsonl", ROWS)
    examples = load_benchmark_file(path).examples
    # The CLI path (`flame rate`) fills the cache ...
    cli_rater = CountingRater()
    rate(examples, cli_rater, cache=db, progress=False)
    assert sum(cli_rater.calls) == 2
    # ... and the service reads the same entries without calling its rater.
    rater = CountingRater()
    with running_server(rater, settings(cache=str(db))) as url:
        for row in ROWS:
            r = httpx.post(f"{url}/v1/judge", json={"type": "pairwise", **row})
            assert r.json()["cached"] is True
        r = httpx.post(f"{url}/v1/judge", json=pair(prompt="new"))
        assert r.json()["cached"] is False
        r = httpx.post(f"{url}/v1/judge", json=pair(prompt="new"))
        assert r.json()["cached"] is True
        metrics = httpx.get(f"{url}/metrics").text
    assert rater.calls == [1]
    assert "flame_cache_hits_total 3" in metrics
    assert "flame_cache_misses_total 1" in metrics


def test_health_and_models(server):
    url, _ = server
    h = httpx.get(f"{url}/health").json()
    assert h["status"] == "ok" and h["rater"] == "fake" and h["auth"] is False
    m = httpx.get(f"{url}/v1/models").json()
    assert m["data"][0]["id"] == "fake"


def test_metrics_are_prometheus_text(server):
    url, _ = server
    httpx.post(f"{url}/v1/judge", json=pair())
    r = httpx.get(f"{url}/metrics")
    assert r.headers["content-type"].startswith("text/plain; version=0.0.4")
    text = r.text
    for name in (
        "flame_requests_total",
        "flame_request_latency_seconds_bucket",
        "flame_batch_size_bucket",
        "flame_cache_hits_total",
    ):
        assert f"# TYPE {name.removesuffix('_bucket')}" in text
    assert 'flame_requests_total{route="judge",status="200"}' in text
    assert 'flame_request_latency_seconds_bucket{route="judge",le="+Inf"}' in text
    # Every sample line is "name{labels} value" with a numeric value.
    for line in text.splitlines():
        if line and not line.startswith("#"):
            float(line.rsplit(" ", 1)[1].replace("+Inf", "inf"))


@pytest.fixture
def json_logs():
    import logging

    from flame.serve.security import LOGGER_NAME, setup_logging

    saved = {
        n: (logging.getLogger(n).handlers[:], logging.getLogger(n).level, logging.getLogger(n).propagate)
        for n in (LOGGER_NAME, "uvicorn.error")
    }
    buf = io.StringIO()
    setup_logging("info", stream=buf)
    yield buf
    for n, (handlers, level, propagate) in saved.items():
        log = logging.getLogger(n)
        log.handlers[:], log.level, log.propagate = handlers, level, propagate


def test_logs_are_json_without_texts_unless_asked(json_logs):
    secret = "my very private essay"
    with running_server(CountingRater(), settings()) as url:
        httpx.post(f"{url}/v1/judge", json=pair(prompt=secret))
    with running_server(CountingRater(), settings(log_texts=True)) as url:
        httpx.post(f"{url}/v1/judge", json=pair(prompt="shown on request"))
    err = json_logs.getvalue()
    lines = [json.loads(line) for line in err.splitlines() if line.startswith("{")]
    requests = [x for x in lines if x["event"] == "request"]
    assert len(requests) == 2
    assert requests[0]["status"] == 200 and requests[0]["items"] == 1 and "texts" not in requests[0]
    assert secret not in err
    assert "shown on request" in requests[1]["texts"][0]
