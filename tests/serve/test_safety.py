"""Auth, the loopback rule, limits, malformed input and failing model calls: each gets its status and a clear
message, no stack trace, and the server keeps serving."""

from __future__ import annotations

import asyncio
import concurrent.futures as cf
import socket
import time

import httpx
import pytest
from serve_helpers import CountingRater, TrapRater, pair, settings

from flame.serve.app import running_server
from flame.serve.security import BindError, KeyChecker, check_bind, is_loopback, parse_api_keys


def assert_error(r: httpx.Response, status: int, *words: str) -> str:
    assert r.status_code == status, r.text
    message = r.json()["error"]["message"]
    for w in words:
        assert w in message, message
    assert "Traceback" not in r.text and 'File "' not in r.text
    return message


# ------------------------------------------------------------------------------------------ auth


def test_parse_keys_and_loopback():
    assert parse_api_keys(" k1, ,k2 ") == ("k1", "k2")
    assert parse_api_keys("") == () and parse_api_keys(None) == ()
    assert all(is_loopback(h) for h in ("127.0.0.1", "127.8.0.1", "::1", "[::1]", "localhost"))
    assert not any(is_loopback(h) for h in ("0.0.0.0", "192.168.1.4", "::", "example.com"))


def test_key_checker():
    keys = KeyChecker(["alpha", "beta-longer-key"])
    assert keys.allows("Bearer alpha") and keys.allows("bearer beta-longer-key")
    for bad in (None, "", "Bearer", "Bearer alph", "Bearer alphaa", "Basic alpha", "alpha", "Bearer \udcff"):
        assert not keys.allows(bad)
    assert KeyChecker([]).allows(None)


def test_no_key_refuses_non_loopback_bind():
    with pytest.raises(BindError, match="FLAME_API_KEYS"):
        check_bind("0.0.0.0", ())
    check_bind("0.0.0.0", ("k",))
    check_bind("127.0.0.1", ())


def test_cli_says_so_before_loading_a_model(capsys, monkeypatch):
    import argparse

    from flame.errors import run_command
    from flame.serve import cli

    monkeypatch.delenv("FLAME_API_KEYS", raising=False)
    parser = argparse.ArgumentParser()
    cli.register(parser.add_subparsers(dest="command"))
    args = parser.parse_args(["serve", "--rater", "fake", "--host", "0.0.0.0"])
    assert run_command(args.func, args) == 2
    err = capsys.readouterr().err
    assert "refusing to bind 0.0.0.0" in err and "FLAME_API_KEYS" in err


def test_api_keys_are_required_when_configured():
    with running_server(CountingRater(), settings(api_keys=("s3cret", "other"))) as url:
        assert httpx.get(f"{url}/health").status_code == 200  # probes need no key
        r = httpx.post(f"{url}/v1/judge", json=pair())
        assert_error(r, 401, "Authorization: Bearer")
        assert r.headers["www-authenticate"] == "Bearer"
        r = httpx.post(f"{url}/v1/judge", json=pair(), headers={"Authorization": "Bearer wrong"})
        assert_error(r, 401)
        assert httpx.get(f"{url}/metrics").status_code == 401
        for key in ("s3cret", "other"):
            r = httpx.post(f"{url}/v1/judge", json=pair(), headers={"Authorization": f"Bearer {key}"})
            assert r.status_code == 200
        r = httpx.get(f"{url}/metrics", headers={"Authorization": "Bearer s3cret"})
        assert 'flame_rejected_total{reason="unauthorized"} 3' in r.text


# ------------------------------------------------------------------------------- bad input


@pytest.fixture(scope="module")
def server():
    rater = TrapRater(slow_s=3.0)
    s = settings(
        max_items=4, max_item_chars=1000, max_body_bytes=20_000, request_timeout_s=1.0, call_timeout_s=30
    )
    with running_server(rater, s) as url:
        yield url


@pytest.mark.parametrize(
    "body, status, words",
    [
        (b"{not json", 400, ["body: bad JSON", "column 2"]),
        (b"", 400, ["empty"]),
        (b"\xff\xfe{}", 400, ["not UTF-8"]),
        ('{"type": "pairwise", "prompt": "caf\u00e9"}'.encode("latin-1"), 400, ["not UTF-8"]),
        (b"[1, 2]", 422, ["JSON object"]),
        (
            b'{"type": "pairwise", "prompt": "\\ud800", "response_a": "a", "response_b": "b"}',
            400,
            ["surrogate"],
        ),
        (b'{"prompt": "x"}', 422, ["'type'", "'task'"]),
        (b'{"type": "ranking", "prompt": "x"}', 422, ["'ranking'", "pairwise"]),
        (b'{"type": "pairwise", "prompt": "x", "response_a": "a"}', 422, ["response_b: Field required"]),
        (
            b'{"type": "pairwise", "prompt": "x", "response_a": 1, "response_b": "b"}',
            422,
            ["response_a", "string"],
        ),
        (
            b'{"type": "pairwise", "prompt": "x", "response_a": "a", "respones_b": "b"}',
            422,
            ["respones_b: unknown field"],
        ),
        (
            b'{"type": "pairwise", "prompt": " ", "response_a": "a", "response_b": "b"}',
            422,
            ["empty field 'prompt'"],
        ),
        (b'{"type": "pointwise", "prompt": "x", "response": "r", "scale": [5, 1]}', 422, ["scale"]),
        (b'{"type": "pointwise", "prompt": "x", "response": "r", "scale": "1-5"}', 422, ["scale"]),
        (
            b'{"type": "classification", "fields": {"a": "b"}, "labels": ["x"], "instruction": "i"}',
            422,
            ["labels"],
        ),
        (
            b'{"type": "classification", "fields": {"a": 3}, "labels": ["x", "y"], "instruction": "i"}',
            422,
            ["fields.a"],
        ),
        (b'{"task": "no_such_task_v1", "fields": {"a": "b"}}', 404, ["unknown task 'no_such_task_v1'"]),
        (b'{"task": "summeval_coherence_pointwsie_v1", "fields": {"a": "b"}}', 404, ["did you mean"]),
        (b'{"items": []}', 422, ["empty"]),
        (b'{"items": {"type": "pairwise"}}', 422, ["must be a list"]),
        (
            b'{"items": [{"type": "pairwise", "prompt": "x", "response_a": "a"}]}',
            422,
            ["items[0].response_b"],
        ),
        (b'{"items": [], "extra": 1}', 422, ["extra"]),
        (
            b'{"type": "pairwise", "prompt": "x", "response_a": "a", "response_b": "b", "return_input": "yes"}',
            422,
            ["return_input"],
        ),
        (b"[" * 100_00 + b"]" * 100_00, 400, ["bad JSON"]),
    ],
)
def test_malformed_requests_get_4xx_with_a_clear_message(server, body, status, words):
    r = httpx.post(f"{server}/v1/judge", content=body, headers={"content-type": "application/json"})
    if len(body) > 20_000:
        status, words = 413, ["limit"]
    assert_error(r, status, *words)
    assert httpx.post(f"{server}/v1/judge", json=pair()).status_code == 200  # still serving


def test_size_limits(server):
    items = [pair(prompt=f"q{i}") for i in range(5)]
    assert_error(
        httpx.post(f"{server}/v1/judge", json={"items": items}), 413, "5 items exceed the limit of 4"
    )
    assert_error(httpx.post(f"{server}/v1/judge", json=pair(a="x" * 1200)), 413, "over the limit of 1000")
    r = httpx.post(f"{server}/v1/judge", json={"items": [pair(), pair(b="y" * 1200)]})
    assert_error(r, 413, "items[1]")
    # Declared too large: refused before the body is read.
    assert_error(httpx.post(f"{server}/v1/judge", content=b"x" * 30_000), 413, "20000 bytes")

    # Streamed without a Content-Length (chunked): counted as it arrives.
    def chunks():
        for _ in range(30):
            yield b"x" * 1000

    assert_error(httpx.post(f"{server}/v1/judge", content=chunks()), 413, "20000 bytes")
    assert httpx.post(f"{server}/v1/judge", json=pair()).status_code == 200


def test_unknown_route_and_method(server):
    assert_error(httpx.get(f"{server}/v1/nope"), 404, "/v1/nope")
    assert_error(httpx.get(f"{server}/v1/judge"), 405, "GET")


def test_a_crashing_model_call_fails_only_its_own_request(server):
    bodies = [pair(prompt=f"fine {i}") for i in range(6)] + [pair(prompt="CRASH please")]
    with cf.ThreadPoolExecutor(len(bodies)) as pool:
        responses = list(pool.map(lambda b: httpx.post(f"{server}/v1/judge", json=b, timeout=10), bodies))
    assert [r.status_code for r in responses[:-1]] == [200] * 6
    message = assert_error(responses[-1], 500, "rater failed", "request id")
    assert "/secret/path" not in message  # the exception's text stays in the log
    assert httpx.post(f"{server}/v1/judge", json=pair()).status_code == 200


def test_a_slow_model_call_times_out_that_request(server):
    t0 = time.monotonic()
    r = httpx.post(f"{server}/v1/judge", json=pair(prompt="SLOW down"), timeout=10)
    assert_error(r, 504, "time limit")
    assert time.monotonic() - t0 < 2.5
    # The worker is busy with the slow call for a while; afterwards, service as usual.
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        if httpx.post(f"{server}/v1/judge", json=pair(prompt="after"), timeout=10).status_code == 200:
            break
    else:
        pytest.fail("the server did not recover after a slow call")


def test_a_stuck_call_is_abandoned_and_the_next_requests_are_served():
    rater = TrapRater(slow_s=4.0)
    with running_server(rater, settings(request_timeout_s=10, call_timeout_s=0.5)) as url:
        r = httpx.post(f"{url}/v1/judge", json=pair(prompt="SLOW"), timeout=10)
        assert_error(r, 504, "did not answer within 0.5 s")
        t0 = time.monotonic()
        assert httpx.post(f"{url}/v1/judge", json=pair(prompt="next"), timeout=10).status_code == 200
        assert time.monotonic() - t0 < 2.0  # served by a fresh worker, not after the stuck call
        assert httpx.get(f"{url}/health").json()["status"] == "degraded"


def test_full_queue_answers_503_with_retry_after():
    rater = CountingRater(delay=0.3)
    with running_server(rater, settings(max_queue=4, max_batch=2, retry_after_s=2)) as url:
        bodies = [{"items": [pair(prompt=f"q{i}-{k}") for k in range(2)]} for i in range(8)]
        with cf.ThreadPoolExecutor(8) as pool:
            responses = list(pool.map(lambda b: httpx.post(f"{url}/v1/judge", json=b, timeout=10), bodies))
        codes = sorted(r.status_code for r in responses)
        assert 200 in codes and 503 in codes, codes
        assert set(codes) <= {200, 503}
        busy = next(r for r in responses if r.status_code == 503)
        assert busy.headers["retry-after"] == "2"
        assert_error(busy, 503, "busy")
        time.sleep(0.5)
        assert httpx.post(f"{url}/v1/judge", json=pair(), timeout=10).status_code == 200


def test_a_client_that_disconnects_does_not_break_the_server(server):
    host, port = server.removeprefix("http://").split(":")
    for payload in (
        b'POST /v1/judge HTTP/1.1\r\nHost: x\r\nContent-Length: 500\r\n\r\n{"type"',
        b"GARBAGE\r\n\r\n",
    ):
        with socket.create_connection((host, int(port)), timeout=5) as s:
            s.sendall(payload)
    assert httpx.post(f"{server}/v1/judge", json=pair()).status_code == 200


def test_batcher_rejects_all_or_nothing():
    from flame.serve.batcher import MicroBatcher, QueueFull

    async def go():
        b = MicroBatcher(CountingRater(), max_queue=3, cache=False)
        await b.start()
        try:
            with pytest.raises(QueueFull):
                b.submit("judge", [object()] * 4, 1)
            assert b.depth == 0
        finally:
            await b.stop()

    asyncio.run(go())
