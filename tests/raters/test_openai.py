"""The OpenAI-compatible rater against a real HTTP server on 127.0.0.1 (no mocked client)."""

from __future__ import annotations

import json
import socket
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from rater_examples import pair

from flame.raters import RaterError, load_rater
from flame.raters.cache import JudgmentCache
from flame.raters.openai import label_probs_from_logprobs
from flame.raters.runner import rate


def _logprobs(answer_token: str, alts: dict[str, float]):
    return {
        "content": [
            {"token": "answer", "logprob": 0.0, "top_logprobs": []},
            {"token": ":", "logprob": 0.0, "top_logprobs": []},
            {
                "token": answer_token,
                "logprob": alts[answer_token],
                "top_logprobs": [{"token": t, "logprob": lp} for t, lp in alts.items()],
            },
        ]
    }


class Handler(BaseHTTPRequestHandler):
    """Replies by the prompt text: 'bare' → a bare label, 'junk' → unparsable, 'flaky' → 429 then OK."""

    calls: dict[str, int] = {}
    bodies: list[dict] = []

    def log_message(self, *args):  # keep pytest output quiet
        pass

    def do_POST(self):
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        Handler.bodies.append(body)
        prompt = body["messages"][0]["content"]
        key = prompt.split("prompt: ")[1].split("\n")[0]
        Handler.calls[key] = Handler.calls.get(key, 0) + 1
        if key.startswith("flaky") and Handler.calls[key] == 1:
            return self._send(429, {"error": "slow down"})
        if key.startswith("oops") and Handler.calls[key] == 1:
            return self._send(503, {"error": "busy"})
        if key.startswith("junk"):
            msg = {"content": "I cannot decide."}
            lp = None
        elif key.startswith("bare"):
            msg, lp = {"content": "B"}, None
        else:
            msg = {"content": "answer: A"}
            lp = _logprobs(" A", {" A": -0.2231, " B": -1.6094, "A": -5.0})
        self._send(200, {"choices": [{"index": 0, "message": {"role": "assistant", **msg}, "logprobs": lp}]})

    def _send(self, status, obj):
        data = json.dumps(obj).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)


@pytest.fixture(scope="module")
def server():
    srv = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=srv.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{srv.server_address[1]}/v1"
    srv.shutdown()


def test_probabilities_from_logprobs_retries_and_parse_failures(server):
    r = load_rater(f"openai:judge-1@{server}", backoff=0.01, concurrency=4)
    exs = [
        pair(0, "x", "y", prompt="plain"),
        pair(1, "x", "y", prompt="flaky"),
        pair(2, "x", "y", prompt="oops"),
        pair(3, "x", "y", prompt="bare"),
        pair(4, "x", "y", prompt="junk"),
    ]
    plain, flaky, oops, bare, junk = r.judge(exs)
    pa = (0.8 + 0.0067) / (0.8 + 0.0067 + 0.2)
    assert plain.prediction == "A" and plain.probs["A"] == pytest.approx(pa, abs=1e-3)
    assert plain.metadata["probs_source"] == "logprobs" and plain.raw == "answer: A"
    assert flaky.prediction == "A" and oops.prediction == "A"  # 429 / 503 then success
    assert (
        bare.prediction == "B"
        and bare.probs == {"A": 0.0, "B": 1.0}
        and bare.metadata["probs_source"] == "parsed"
    )
    assert junk.parse_failure and junk.prediction is None and r.parse_failures == 1
    sent = Handler.bodies[0]
    assert sent["temperature"] == 0 and sent["model"] == "judge-1" and sent["logprobs"] is True
    assert sent["messages"][0]["content"].endswith("EVALUATION:\n")


def test_unreachable_endpoint_errors_after_retries_and_keeps_earlier_batches(server, tmp_path):
    with socket.socket() as s:  # a port nobody listens on
        s.bind(("127.0.0.1", 0))
        dead = s.getsockname()[1]
    r = load_rater(f"openai:judge-1@http://127.0.0.1:{dead}/v1", backoff=0.01, max_retries=2, timeout=2)
    with pytest.raises(RaterError, match="unreachable after 3 attempts"):
        r.judge([pair(0, "x", "y")])
    # A job whose endpoint dies mid-way: the judged batches stay in the cache.
    good = load_rater(f"openai:judge-1@{server}", backoff=0.01)
    db = JudgmentCache(tmp_path / "c.db")
    exs = [pair(i, "x", "y", prompt=f"p{i}") for i in range(4)]
    rate(exs[:2], good, cache=db, batch_size=2, progress=False)
    good.base_url = f"http://127.0.0.1:{dead}/v1"
    good.max_retries = 1
    with pytest.raises(RaterError):
        rate(exs, good, cache=db, batch_size=2, progress=False)
    assert db.stats()["judgments"] == 2


def test_label_probs_from_logprobs_sums_variants():
    lp = _logprobs(" B", {" B": -0.1, "B": -3.0, " A": -2.5, " the": -4.0})
    probs = label_probs_from_logprobs("answer: B", lp, ("A", "B"))
    assert sum(probs.values()) == pytest.approx(1.0) and probs["B"] > 0.9
    assert label_probs_from_logprobs("answer: B", None, ("A", "B")) is None
