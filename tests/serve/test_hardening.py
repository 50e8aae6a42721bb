"""Issue 14, the service: limits refused at start, request JSON read by `flame.jsonio`, one label rule, one rule
for servable reports, a cap on stuck rater calls, HEAD /. One test (or table) per item of the issue."""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import time

import httpx
import pytest
from serve_helpers import BlockingRater, CountingRater, in_process, pair, settings

from flame.cliargs import RangedType
from flame.errors import run_command
from flame.jsonio import JsonTextError, parse_json
from flame.serve import cli
from flame.serve.app import SETTING_RANGES, Settings, running_server
from flame.serve.batcher import MicroBatcher
from flame.serve.reports import list_reports, report_file


def error(r, status: int, *words: str) -> str:
    assert r.status_code == status, r.text
    message = r.json()["error"]["message"]
    for w in words:
        assert w in message, message
    assert "\n" not in message and "Traceback" not in r.text
    return message


def classification(labels, **extra):
    return {
        "type": "classification",
        "fields": {"text": "t"},
        "labels": labels,
        "instruction": "Pick one.",
        **extra,
    }


def flame_prompt(item=None) -> str:
    """The rendered FLAMe text of a /v1/judge item, as an OpenAI client sends it to /v1/chat/completions."""
    from flame.format import render_prompt
    from flame.serve.schemas import item_to_example, parse_item

    return render_prompt(item_to_example(parse_item(item or pair(), "")))


# ------------------------------------------------------------------- 1. numeric flags and settings


def serve_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="flame")
    cli.register(parser.add_subparsers(dest="command"))
    return parser


BAD_SERVE_FLAGS = [
    ("--max-batch", "0"),
    ("--max-batch", "-1"),
    ("--max-items", "0"),
    ("--max-queue", "0"),
    ("--max-body-bytes", "-1"),
    ("--max-item-chars", "-1"),
    ("--call-timeout", "0"),
    ("--timeout", "-5"),
    ("--batch-wait-ms", "-1"),
    ("--batch-wait-ms", "nan"),
    ("--max-stuck-calls", "0"),
    ("--port", "70000"),
    ("--seed", "-1"),
    ("--max-length", "0"),
    ("--max-length", "10"),  # below TOKEN_BUDGET, as on flame rate
    ("--batch-size", "0"),
    ("--max-batch", "1.5"),
]


@pytest.mark.parametrize("flag, value", BAD_SERVE_FLAGS, ids=[" ".join(f) for f in BAD_SERVE_FLAGS])
def test_serve_flags_out_of_range_are_refused_at_start(flag, value, capsys):
    with pytest.raises(SystemExit) as e:
        serve_parser().parse_args(["serve", "--rater", "fake", flag, value])
    assert e.value.code == 2
    err = capsys.readouterr().err
    assert flag in err and "Traceback" not in err


def test_every_numeric_serve_flag_has_a_range_and_the_defaults_pass_it():
    (sub,) = (a for a in serve_parser()._actions if isinstance(a, argparse._SubParsersAction))
    serve = sub.choices["serve"]
    numeric = [
        a for a in serve._actions if isinstance(a.default, int | float) and not isinstance(a.default, bool)
    ]
    assert {a.dest for a in numeric} >= {"port", "max_batch", "max_queue", "call_timeout", "max_stuck_calls"}
    for a in [*numeric, *(a for a in serve._actions if a.dest in ("seed", "max_length", "batch_size"))]:
        assert isinstance(a.type, RangedType), a.dest
    args = serve.parse_args(["--max-stuck-calls", "2"])
    s = cli.settings_from_args(args, environ={})
    assert s.max_stuck_calls == 2 and s.max_batch == 32


@pytest.mark.parametrize(
    "field, value",
    [
        ("max_batch", 0),
        ("max_batch", -1),
        ("max_items", 0),
        ("max_queue", 0),
        ("max_body_bytes", -1),
        ("max_item_chars", -1),
        ("call_timeout_s", 0),
        ("request_timeout_s", float("inf")),
        ("batch_wait_ms", -0.5),
        ("batch_wait_ms", float("nan")),
        ("max_stuck_calls", 0),
        ("port", 70000),
        ("max_batch", True),
        ("max_batch", "8"),
        ("max_items", 2.0),
    ],
)
def test_settings_refuse_out_of_range_limits(field, value):
    with pytest.raises(ValueError, match=f"^Settings.{field}: ") as e:
        Settings(**{field: value})
    assert "\n" not in str(e.value)


def test_settings_defaults_are_in_range():
    Settings()
    assert set(SETTING_RANGES) <= set(Settings.__dataclass_fields__)


@pytest.mark.parametrize(
    "kw", [{"max_batch": 0}, {"max_batch": -3}, {"max_queue": 0}, {"max_stuck_calls": 0}, {"max_wait_s": -1}]
)
def test_batcher_refuses_a_batch_size_below_one(kw):
    # max_batch 0 made the batcher's loop spin without awaiting: 100% CPU, hung requests, SIGTERM unheard.
    with pytest.raises(ValueError, match=next(iter(kw))):
        MicroBatcher(CountingRater(), cache=False, **kw)


def test_cli_start_with_a_bad_setting_is_a_one_line_error(capsys):
    args = serve_parser().parse_args(["serve", "--rater", "fake"])
    args.max_batch = 0  # past argparse (a caller building the namespace itself)
    assert run_command(args.func, args) == 2
    assert "Settings.max_batch" in capsys.readouterr().err


# --------------------------------------------------------------- 2. request bodies through jsonio


HUGE = "9" * 5000


@pytest.mark.parametrize(
    "route, raw",
    [
        (
            "/v1/judge",
            '{"type": "pairwise", "prompt": "p", "response_a": "a", "response_b": "b", "id": HUGE}',
        ),
        (
            "/v1/judge",
            '{"items": [{"type": "pointwise", "prompt": "p", "response": "r", "scale": [1, HUGE]}]}',
        ),
        ("/v1/judge", '{"items": [], "x": [[[HUGE]]]}'),
        ("/v1/chat/completions", '{"messages": [{"role": "user", "content": "hi"}], "max_tokens": HUGE}'),
        ("/v1/chat/completions", '{"messages": [{"role": "user", "content": "hi"}], "temperature": -HUGE}'),
    ],
)
def test_a_5000_digit_integer_is_a_400_with_a_reason(route, raw):
    with in_process() as client:
        r = client.post(route, content=raw.replace("HUGE", HUGE))
        error(r, 400, "body:", "too many digits")
        assert client.post("/v1/judge", json=pair()).status_code == 200


@pytest.mark.parametrize(
    "raw, words",
    [
        (b'{"type": "pairwise", "prompt": "\\ud800", "response_a": "a", "response_b": "b"}', ["surrogate"]),
        (
            b'{"type": "pairwise", "prompt": "p", "prompt": "q", "response_a": "a", "response_b": "b"}',
            ["'prompt'"],
        ),
        (b'{"messages": [{"role": "user", "\\udc00": "x"}]}', ["surrogate"]),
        (b"[" * 50_000 + b"]" * 50_000, ["nested too deeply"]),
        (b"\xc3\x28", ["not UTF-8"]),
    ],
)
def test_request_bodies_are_read_by_jsonio(raw, words):
    # The service's reasons are flame.jsonio's own (one parser for files and bodies), prefixed with "body:".
    with pytest.raises(JsonTextError) as e:
        parse_json(raw)
    with in_process() as client:
        for route in ("/v1/judge", "/v1/chat/completions"):
            message = error(client.post(route, content=raw), 400, *words)
            assert message == f"body: {e.value}"


# ------------------------------------------------------------------------------------- 3. labels


def test_labels_count_toward_max_item_chars():
    with in_process(max_item_chars=100_000) as client:
        big = classification(["x" * 500_000, "y" * 500_000])
        error(client.post("/v1/judge", json=big), 413, "1000014 characters", "limit of 100000")
        error(client.post("/v1/judge", json={"items": [pair(), big]}), 413, "items[1]")
        ok = client.post("/v1/judge", json=classification(["x" * 40_000, "y" * 40_000]))
        assert ok.status_code == 200


@pytest.mark.parametrize(
    "labels, words",
    [
        (["A", "A"], ["repeat the label 'A'"]),
        (["", ""], ["[0] is empty"]),
        ([" ", "B"], ["[0] is empty"]),
        (["only"], ["at least two"]),
        ([f"L{i}" for i in range(101)], ["101 labels", "limit of 100"]),
    ],
)
def test_classification_labels_follow_check_labels(labels, words):
    with in_process() as client:
        error(client.post("/v1/judge", json=classification(labels)), 422, "labels", *words)
        r = client.post("/v1/judge", json={"items": [pair(), classification(labels)]})
        error(r, 422, "items[1].labels", *words)
        r = client.post("/v1/chat/completions", json=chat_body(flame_prompt(), labels))
        error(r, 400, "guided_choice", *words)


def test_a_hundred_distinct_labels_are_judged():
    # RandomRater: the fake rater draws its weights from one sha256 digest, 32 labels at most.
    from flame.raters.baselines import RandomRater

    labels = [f"L{i}" for i in range(100)]
    with in_process(RandomRater()) as client:
        r = client.post("/v1/judge", json=classification(labels))
        assert r.status_code == 200 and set(r.json()["probs"]) == set(labels)


def chat_body(text: str, guided_choice=None, **extra) -> dict:
    body = {"messages": [{"role": "user", "content": text}], **extra}
    if guided_choice is not None:
        body["guided_choice"] = guided_choice
    return body


def test_guided_choice_counts_toward_the_chat_limit():
    text = flame_prompt()
    with in_process(max_item_chars=len(text) + 10) as client:
        assert client.post("/v1/chat/completions", json=chat_body(text, ["A", "B"])).status_code == 200
        r = client.post("/v1/chat/completions", json=chat_body(text, ["A" * 6, "B" * 6]))
        error(r, 413, "guided_choice", f"limit of {len(text) + 10}")


def test_a_content_part_with_a_wrong_type_is_a_400():
    with in_process() as client:
        body = {"messages": [{"role": "user", "content": [{"type": "text", "text": 5}]}]}
        error(client.post("/v1/chat/completions", json=body), 400, "messages[0].content")


# ------------------------------------------------------------------------------------ 4. reports


@pytest.fixture
def reports(tmp_path):
    root = tmp_path / "reports"
    (root / "run1").mkdir(parents=True)
    (root / "run1" / "summary.json").write_text('{"accuracy": 0.75}')
    (root / "top.md").write_text("# top")
    (root / ".hidden.json").write_text("{}")
    (root / ".git").mkdir()
    (root / ".git" / "config.json").write_text("{}")
    (root / "run1" / ".cache").mkdir()
    (root / "run1" / ".cache" / "x.json").write_text("{}")
    (tmp_path / "outside.json").write_text('{"secret": 1}')
    os.symlink(tmp_path / "outside.json", root / "escape.json")  # leaves the folder
    os.symlink(root / ".hidden.json", root / "alias.json")  # reaches a hidden file
    os.symlink("loop.json", root / "loop.json")  # a symlink loop
    os.symlink("nowhere.json", root / "broken.json")
    os.symlink(root / "run1", root / "linked")  # a symlinked folder
    os.symlink(root / "run1" / "summary.json", root / "run1" / "latest.json")  # a link inside: fine
    return root


SERVABLE = ["run1/latest.json", "run1/summary.json", "top.md"]
NOT_SERVED = [
    "a%00.json",
    "x" * 300 + ".json",
    "/".join(["d"] * 2000) + "/x.json",
    ".hidden.json",
    ".git/config.json",
    "run1/.cache/x.json",
    "escape.json",
    "alias.json",
    "loop.json",
    "broken.json",
    "linked/summary.json",
    "run1//summary.json",
    "run1",
    "..%2Foutside.json",
    "missing.json",
]


def test_report_listing_and_get_share_one_rule(reports):
    root = reports.resolve()
    listed = [f["path"] for f in list_reports(root)]
    assert listed == SERVABLE
    assert all(report_file(root, p) is not None for p in listed)
    with in_process(reports_dir=str(reports)) as client:
        assert [f["path"] for f in client.get("/v1/reports").json()["files"]] == SERVABLE
        for path in SERVABLE:
            assert client.get(f"/v1/reports/{path}").status_code == 200, path
        for path in NOT_SERVED:
            r = client.get(f"/v1/reports/{path}")
            error(r, 404, "no report")
            assert "secret" not in r.text


# ----------------------------------------------------------------------------- 5. stuck calls


def wait_for(predicate, seconds: float = 10.0) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.02)
    return False


def test_timed_out_calls_are_capped_and_health_recovers():
    rater = BlockingRater()
    try:
        with in_process(rater, call_timeout_s=0.2, max_stuck_calls=2, retry_after_s=3) as client:
            for n in (1, 2):  # two calls may hang, each on its own thread
                error(client.post("/v1/judge", json=pair(prompt=f"STUCK {n}")), 504, "did not answer")
                health = client.get("/health").json()
                assert health["status"] == "degraded" and health["stuck_calls"] == n
            # A third would be one more thread (and model memory) per batch, with no end: refused at once.
            r = client.post("/v1/judge", json=pair(prompt="fine"))
            error(r, 503, "2 timed-out calls are still running", "limit 2")
            assert r.headers["retry-after"] == "3"
            r = client.post("/v1/chat/completions", json=chat_body(flame_prompt(), ["A", "B"]))
            error(r, 503, "stuck")
            rater.release.set()
            assert wait_for(lambda: client.get("/health").json()["status"] == "ok")
            health = client.get("/health").json()
            assert health["stuck_calls"] == 0 and health["abandoned_calls"] == 2
            assert client.post("/v1/judge", json=pair(prompt="fine")).status_code == 200
            assert 'flame_rejected_total{reason="stuck_calls"} 2' in client.get("/metrics").text
    finally:
        rater.release.set()


def test_work_queued_when_the_cap_is_reached_is_refused_too():
    rater = BlockingRater()

    async def go():
        b = MicroBatcher(rater, max_batch=1, max_wait_s=0, call_timeout_s=0.2, max_stuck_calls=1, cache=False)
        await b.start()
        try:
            stuck = asyncio.ensure_future(b.judge([ex("STUCK")]))
            queued = asyncio.ensure_future(b.judge([ex("queued")]))  # waits behind the stuck call
            results = await asyncio.gather(stuck, queued, return_exceptions=True)
            assert [type(r).__name__ for r in results] == ["RaterTimeout", "RaterStuck"]
            assert b.stuck_calls == 1
            rater.release.set()
            for _ in range(500):
                if b.stuck_calls == 0:
                    break
                await asyncio.sleep(0.01)
            assert b.stuck_calls == 0
            assert (await b.judge([ex("after")]))[0].judgment.prediction in ("A", "B")
        finally:
            rater.release.set()
            await b.stop()

    def ex(prompt):
        from flame.serve.schemas import item_to_example, parse_item

        return item_to_example(parse_item(pair(prompt=prompt), ""))

    asyncio.run(go())


# --------------------------------------------------------------------------------------- 6. HEAD /


def test_head_root_answers_200():
    with running_server(CountingRater(), settings()) as url:
        r = httpx.head(f"{url}/")
        assert r.status_code == 200 and r.content == b""
        assert r.headers["content-type"].startswith("text/html")
        assert httpx.get(f"{url}/").status_code == 200
    with in_process() as client:
        assert client.head("/").status_code == 200


def test_json_reasons_do_not_echo_the_body():
    with in_process() as client:
        r = client.post("/v1/judge", content=b'{"x": ' + b'"' + b"y" * 10_000 + b'"' + b", }")
        assert len(error(r, 400, "body: bad JSON")) < 200
        body = json.loads(r.text)
        assert body["error"]["code"] == "bad_json"
