"""``--explain before``: a rationale first, then the answer scored after it (a tiny random text-to-text model,
the OpenAI rater on loopback, the service on loopback, the raters that cannot explain)."""

from __future__ import annotations

import json
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from rater_examples import pair

from flame.format import explain_first, render_label_prefix, split_rationale
from flame.raters import load_rater
from flame.raters.base import BaseRater
from flame.raters.cache import rater_key
from flame.raters.runner import rate, summarize
from flame.types import Judgment

sys.path.insert(0, str(Path(__file__).parents[1] / "serve"))
from serve_helpers import settings, tiny_causal_lm  # noqa: E402

torch = pytest.importorskip("torch")
pytest.importorskip("transformers")


@pytest.fixture(scope="module")
def tiny(tmp_path_factory) -> str:
    return f"hf:{tiny_causal_lm(tmp_path_factory.mktemp('tiny') / 'lm')}"


def probs_after(rater, text: str, labels) -> dict[str, float]:
    """Unbatched: P(" " + label | text) from one full forward per label."""
    prefix = rater._encode(text)
    scores = []
    for lab in labels:
        ids = rater._encode(" " + lab, special=False)
        with torch.no_grad():
            logp = torch.log_softmax(
                rater.model(input_ids=torch.tensor([prefix + ids])).logits[0].float(), -1
            )
        scores.append(sum(logp[len(prefix) - 1 + n, t].item() for n, t in enumerate(ids)))
    return dict(zip(labels, torch.softmax(torch.tensor(scores), 0).tolist(), strict=True))


def test_split_rationale():
    assert split_rationale(" A is right.\nanswer: A\n") == ("A is right.", "A")
    assert split_rationale(" first.\n\nsecond\n**Answer**: (B)") == ("first.", "(B)")
    assert split_rationale(" ran out of tokens") == ("ran out of tokens", None)


def test_before_scores_the_labels_after_the_rationale(tiny):
    r = load_rater(tiny, dtype="fp32", max_new_tokens=8, explain="before")
    assert load_rater(tiny, dtype="fp32", explain=True).explain == "before"  # True keeps meaning "before"
    ex = pair(0, "4", "It is 5.")
    (j,) = r.judge([ex])
    rationale = j.fields["explanation"]
    assert j.raw.startswith("explanation:") and rationale and rationale in j.raw
    assert j.metadata["explain"] == "before" and j.prediction in ("A", "B")
    # The label prompt is the hand-built one: INSTRUCTIONS asking for "explanation, answer", the rationale,
    # then "answer:".
    prompt = render_label_prefix(explain_first(ex), rationale=rationale)
    assert "output_fields: explanation, answer" in prompt
    assert prompt.endswith(f"EVALUATION:\nexplanation: {rationale}\nanswer:")
    assert j.probs == pytest.approx(probs_after(r, prompt, ex.labels), abs=1e-5)
    plain = load_rater(tiny, dtype="fp32").judge([ex])[0]
    assert j.probs != pytest.approx(plain.probs, abs=1e-6)  # the rationale moved the probabilities


def test_before_and_after_cache_apart_and_a_rerun_reads_the_rationale(tiny, tmp_path, monkeypatch):
    keys = {
        mode: rater_key(load_rater(tiny, dtype="fp32", explain=mode).cache_identity())
        for mode in ("before", "after", False)
    }
    assert len(set(keys.values())) == 3
    exs = [pair(0, "4", "It is 5."), pair(1, "Blue.", "")]
    db = tmp_path / "cache.sqlite"
    r = load_rater(tiny, dtype="fp32", max_new_tokens=6, explain="before")
    first = rate(exs, r, cache=db, out=tmp_path / "a.jsonl", progress=False)
    again = load_rater(tiny, dtype="fp32", max_new_tokens=6, explain="before")

    def no_generation(*a, **k):
        raise AssertionError("generated on a cached rerun")

    monkeypatch.setattr(again, "_generate", no_generation)
    second = rate(exs, again, cache=db, out=tmp_path / "b.jsonl", progress=False)
    assert second.n_cached == 2 and first.n_cached == 0
    rows = [json.loads(line) for line in (tmp_path / "b.jsonl").read_text().splitlines()]
    want = [json.loads(line) for line in (tmp_path / "a.jsonl").read_text().splitlines()]
    assert [x["fields"]["explanation"] for x in rows] == [x["fields"]["explanation"] for x in want]
    after = load_rater(tiny, dtype="fp32", max_new_tokens=6, explain="after")
    third = rate(exs, after, cache=db, out=tmp_path / "c.jsonl", progress=False)
    assert third.n_cached == 0  # "after" never reads "before"'s entries


def test_v1_judge_returns_the_rationale(tiny, tmp_path):
    import httpx

    from flame.serve.app import running_server

    r = load_rater(tiny, dtype="fp32", max_new_tokens=6)
    item = {"type": "pairwise", "prompt": "What is 2 + 2?", "response_a": "4", "response_b": "It is 5."}
    with running_server(r, settings(cache=str(tmp_path / "c.sqlite"))) as url:
        plain = httpx.post(f"{url}/v1/judge", json=item).json()
        before = httpx.post(f"{url}/v1/judge", json={**item, "explain": "before"}).json()
        again = httpx.post(f"{url}/v1/judge", json={"items": [item], "explain": True}).json()["results"][0]
        after = httpx.post(f"{url}/v1/judge", json={**item, "explain": "after"}).json()
        bad = httpx.post(f"{url}/v1/judge", json={**item, "explain": "sideways"})
    assert "explanation" not in plain and not plain["cached"]
    assert (
        before["explanation"]
        and not before["cached"]
        and before["fields"]["explanation"] == before["explanation"]
    )
    assert again["cached"] and again["explanation"] == before["explanation"]
    assert after["explanation"] is not None and not after["cached"]
    assert bad.status_code == 422 and "explain" in bad.json()["error"]["message"]

    with running_server(load_rater("length"), settings()) as url:
        refused = httpx.post(f"{url}/v1/judge", json={**item, "explain": "before"})
        fine = httpx.post(f"{url}/v1/judge", json={**item, "explain": False})
    assert refused.status_code == 400 and "cannot explain" in refused.json()["error"]["message"]
    assert fine.status_code == 200


@pytest.mark.parametrize("spec", ["length", "random", "jury:length|random"])
def test_raters_that_cannot_explain_say_so_in_one_line(spec, capsys):
    r = load_rater(spec, explain="before")
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "cannot explain: --explain ignored" in err[0], err
    assert r.cache_identity() == load_rater(spec).cache_identity()  # judged, and cached, as without it


def test_the_encoder_judge_cannot_explain(capsys):
    try:
        r = load_rater("minilm", explain=True)
    except Exception as e:  # the packaged encoder is an install-time choice
        pytest.skip(str(e))
    err = capsys.readouterr().err.strip().splitlines()
    assert err == ["warning: rater minilm cannot explain: --explain ignored"] and r.explain is None


def test_rate_cli_explain_flag(tmp_path, capsys):
    from flame.raters.cli import main

    src = tmp_path / "pairs.jsonl"
    src.write_text(json.dumps({"prompt": "p", "response_a": "aa", "response_b": "b", "label": "A"}) + "\n")
    out = tmp_path / "out.jsonl"
    assert main(["rate", "--rater", "length", "--input", str(src), "--out", str(out), "--explain"]) == 0
    assert capsys.readouterr().err.count("cannot explain") == 1


class Endpoint(BaseHTTPRequestHandler):
    """Answers a rationale, then an answer line; 'junk' prompts get an answer outside the label space."""

    prompts: list[str] = []

    def log_message(self, *args):
        pass

    def do_POST(self):
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        prompt = body["messages"][0]["content"]
        Endpoint.prompts.append(prompt)
        answer = "maybe" if "junk" in prompt else "A"
        content = f"explanation: A answers the question. The answer: B is wrong.\nanswer: {answer}"
        data = json.dumps({"choices": [{"message": {"role": "assistant", "content": content}}]}).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)


def test_openai_before_parses_the_answer_after_the_rationale_and_counts_failures():
    server = ThreadingHTTPServer(("127.0.0.1", 0), Endpoint)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        url = f"http://127.0.0.1:{server.server_address[1]}/v1"
        r = load_rater(f"openai:judge@{url}", explain="before", max_retries=0)
        exs = [pair(0, "4", "5"), pair(1, "junk", "5")]
        ok, bad = r.judge(exs)
    finally:
        server.shutdown()
    assert all("output_fields: explanation, answer" in p for p in Endpoint.prompts)
    assert ok.prediction == "A" and ok.fields["explanation"].startswith("A answers the question.")
    assert ok.metadata["explain"] == "before" and not ok.parse_failure
    assert bad.parse_failure and bad.prediction is None and r.parse_failures == 1 and r.requests == 2
    assert summarize(exs, [ok, bad])["parse_failures"] == 1


class WrongWithReasons(BaseRater):
    """Always B, with a rationale holding markup (it must reach report.html escaped)."""

    spec = "wrong-reasons"
    explains = True

    def _judge_batch(self, examples):
        return [
            Judgment(
                fields={"answer": "B", "explanation": "<b>B</b> is longer & better"},
                probs={"A": 0.1, "B": 0.9},
                metadata={"explain": "before"},
            )
            for _ in examples
        ]


def test_report_html_shows_each_rationale_escaped(tmp_path):
    from flame.data.files import write_benchmark_file
    from flame.evaluate.harness import evaluate

    rows = [
        {"id": str(i), "prompt": "p", "response_a": "a", "response_b": "b", "label": "A"} for i in range(3)
    ]
    bench = write_benchmark_file(tmp_path / "pairs.jsonl", rows)
    res = evaluate(
        [WrongWithReasons()],
        [bench],
        out=tmp_path / "run",
        n_resamples=20,
        baselines=False,
        cache=tmp_path / "c",
    )
    assert {p["explanation"] for p in res.predictions} == {"<b>B</b> is longer & better"}
    html = (tmp_path / "run" / "report.html").read_text()
    assert html.count("<div class='why'>&lt;b&gt;B&lt;/b&gt; is longer &amp; better</div>") == 3
    assert "<b>B</b> is longer" not in html


@pytest.mark.model
def test_smollm2_writes_a_rationale_before_its_answer():
    from flame.raters.models import smollm2_gguf

    try:
        smollm2_gguf()
    except Exception as e:  # the package is an install-time choice
        pytest.skip(str(e))
    r = load_rater("smollm2", explain="before", max_new_tokens=32)
    ex = pair(0, "The capital of France is Paris.", "It is Berlin.", prompt="What is the capital of France?")
    (j,) = r.judge([ex])
    assert len(j.fields["explanation"]) > 5 and j.prediction in ("A", "B")
    assert sum(j.probs.values()) == pytest.approx(1.0) and j.metadata["explain"] == "before"
