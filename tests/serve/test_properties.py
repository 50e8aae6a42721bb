"""Property tests of the service's two input paths, /v1/judge and /v1/chat/completions (issue 14).

Bodies are drawn from the request schemas (`flame.serve.schemas`), then, for most examples, broken by one hostile
mutation: deep nesting, a 5,000-digit integer, a lone surrogate, a raw control character, a duplicate key, a
wrong type, an unknown field, a bad label list (repeated, blank, too many), a bad scale, an over-long text.
The properties: no 5xx ever; a good body is judged (200, one result per item, in order); a broken one gets the
4xx its mutation calls for, with a one-line reason that says where (``items[2].labels``, ``guided_choice``,
``body:`` for the JSON text itself). The service runs in-process with the fake rater.
"""

from __future__ import annotations

import json
import math

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from serve_helpers import in_process

from flame.format import render_input, render_label_prefix, render_prompt
from flame.serve.schemas import item_to_example, parse_item

PROPERTY = settings(
    max_examples=200,
    derandomize=True,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
PER_MUTATION = settings(PROPERTY, max_examples=15)  # each (mutation, variant) is a test of its own
MAX_ITEM_CHARS = 5_000
TASKS = ("summeval_coherence_pointwise_v1", "begin_dialogue_attribution_attribution_classification_v1")


@pytest.fixture(scope="module")
def client():
    with in_process(max_item_chars=MAX_ITEM_CHARS) as c:
        yield c


# ------------------------------------------------------------------------------------- strategies

# Any text a JSON string carries (control characters, emoji, right-to-left marks), never blank: it starts with
# a letter. Chat prompts must render back to themselves, so theirs are plain one-line texts.
TEXT = st.builds(
    lambda a, b: a + b, st.sampled_from("abcQ"), st.text(st.characters(codec="utf-8"), max_size=30)
)
PLAIN = st.from_regex(r"[A-Za-z0-9]([A-Za-z0-9 ,.?!'-]{0,24}[A-Za-z0-9.?!])?", fullmatch=True)
LABEL = st.text(st.characters(codec="utf-8"), min_size=1, max_size=8).filter(str.strip)
IDS = st.none() | st.integers(-(2**53), 2**53) | st.text(max_size=20)
FIELD_NAMES = st.sampled_from(["text", "claim", "source doc", "response"])


def optional(**fields):
    return st.fixed_dictionaries({}, optional=fields)


def item_strategy(text, names=FIELD_NAMES, with_tasks=True):
    common = {"id": IDS, "title": text}
    pairwise = st.builds(
        lambda base, extra: {**base, **extra},
        st.fixed_dictionaries(
            {
                "type": st.just("pairwise"),
                "prompt": text,
                "response_a": text | st.just(""),
                "response_b": text,
            }
        ),
        optional(criterion=text, allow_tie=st.booleans(), **common),
    )
    scale = st.builds(
        lambda low, span: [low, low + span], st.integers(-5, 5), st.integers(1, 14)
    ) | st.builds(lambda low, span: [low, low + span], st.floats(-10, 10), st.floats(0.5, 100))
    pointwise = st.builds(
        lambda base, extra: {**base, **extra},
        st.fixed_dictionaries({"type": st.just("pointwise"), "prompt": text, "response": text}),
        optional(scale=scale, criterion=text, **common),
    )
    classification = st.builds(
        lambda base, extra: {**base, **extra},
        st.fixed_dictionaries(
            {
                "type": st.just("classification"),
                "fields": st.dictionaries(names, text, min_size=1, max_size=3),
                "labels": st.lists(LABEL, min_size=2, max_size=8, unique=True),
                "instruction": text,
            }
        ),
        optional(**common),
    )
    task = st.fixed_dictionaries(
        {"task": st.sampled_from(TASKS), "fields": st.dictionaries(names, text, min_size=1, max_size=2)},
        optional=common,
    )
    return pairwise | pointwise | classification | (task if with_tasks else st.nothing())


ITEM = item_strategy(TEXT)

SENTINEL = "\u2603sentinel\u2603"  # replaced by raw JSON text after json.dumps
KEY = "\u2603key\u2603"


def encode(body, raw: str | None = None, key_raw: str | None = None) -> bytes:
    text = json.dumps(body, ensure_ascii=False)
    if raw is not None:
        assert text.count(f'"{SENTINEL}"') == 1
        text = text.replace(f'"{SENTINEL}"', raw)
    if key_raw is not None:
        assert text.count(f'"{KEY}": 0') == 1
        text = text.replace(f'"{KEY}": 0', key_raw)
    return text.encode("utf-8")


JSON_KINDS = ("nesting", "huge_int", "surrogate", "control")


def json_level(draw, kind: str) -> tuple[str, list[str]]:
    """Raw JSON text that no parser should accept as a value, and the words of its reason."""
    if kind == "nesting":
        # Far beyond the recursion limit (which hypothesis raises by 2,000 while it runs a test).
        depth = draw(st.integers(20_000, 100_000))
        return "[" * depth + "]" * depth, ["nested too deeply"]
    if kind == "huge_int":
        return draw(st.sampled_from(["", "-"])) + "7" * draw(st.integers(4_301, 6_000)), ["too many digits"]
    if kind == "surrogate":
        escape = draw(st.sampled_from(["\\ud800", "a\\udfff", "\\udbff\\u0041"]))  # no partner
        return f'"{escape}"', ["surrogate"]
    return '"a' + chr(draw(st.integers(0, 31))) + 'b"', ["Invalid control character"]


def at(where: str, name: str) -> str:
    return f"{where}.{name}" if where else name


WRONG = [1, 2.5, True, None, [], {}, ["x"]]
REQUIRED_TEXT = {
    "pairwise": ["prompt", "response_a", "response_b"],
    "pointwise": ["prompt", "response"],
    "classification": ["instruction"],
}


def bad_labels(draw, variant: int) -> list:
    """Label lists `check_labels` refuses: repeated, blank, too many, too few, not text."""
    labels = draw(st.lists(LABEL, min_size=2, max_size=5, unique=True))
    if variant == 0:
        return [*labels, draw(st.sampled_from(labels))]
    if variant == 1:
        return draw(st.permutations([*labels, draw(st.sampled_from(["", " ", "\t\n", "\u3000"]))]))
    if variant == 2:
        return [f"L{k}" for k in range(draw(st.integers(101, 5_000)))]
    if variant == 3:
        return labels[:1]
    return [*labels, draw(st.sampled_from(WRONG))]


BAD_LABEL_KINDS = ("repeated", "blank", "too_many", "too_few", "not_text")
BAD_SCALES = (
    "[5, 1]",
    "[2, 2]",
    "[1, NaN]",
    "[-Infinity, 1]",
    "[1, 1e300]",
    "[1, 1" + "0" * 400 + "]",
    '["1", 5]',
)
BAD_SCALES += ("[1]", "3", "[true, 5]")

# (mutation, variant): each runs as a test of its own, since a sampled choice would mostly be the first one.
JUDGE_CASES = [
    *(("json", k) for k in JSON_KINDS),
    *(("json_key", k) for k in JSON_KINDS),
    *(("labels", k) for k in BAD_LABEL_KINDS),
    *(("scale", k) for k in BAD_SCALES),
    *((m, "") for m in ("duplicate", "wrong_type", "unknown", "blank", "long", "top_level", "too_many")),
    ("bad_type_name", ""),
]


@st.composite
def judge_case(draw, mutation=None, variant=""):
    """(body bytes, None for a good body or (status, words) for a broken one, the items as sent)."""
    items = draw(st.lists(ITEM, min_size=1, max_size=4))
    many = len(items) > 1 or draw(st.booleans())
    top: dict = {}
    if draw(st.booleans()):
        top["return_input"] = draw(st.booleans())
    i = draw(st.integers(0, len(items) - 1))
    where = f"items[{i}]" if many else ""
    item = items[i]

    def body():
        return {"items": items, **top} if many else {**items[0], **top}

    if mutation is None:
        return encode(body()), None, items
    if mutation == "json":  # the broken value replaces a field of one item
        raw, words = json_level(draw, variant)
        item[draw(st.sampled_from(sorted(item)))] = SENTINEL
        return encode(body(), raw), (400, ["body:", *words]), items
    if mutation == "json_key":  # or sits under a key of its own, at the top
        raw, words = json_level(draw, variant)
        out = body()
        out["extra"] = SENTINEL
        return encode(out, raw), (400, ["body:", *words]), items
    if mutation == "duplicate":
        key = draw(st.sampled_from(sorted(item)))
        item[KEY] = 0
        raw_key = f"{json.dumps(key)}: {json.dumps(draw(st.sampled_from([item[key], 1])))}"
        return encode(body(), key_raw=raw_key), (400, ["body:", f"duplicate key {key!r}"]), items
    if mutation == "wrong_type":
        if "task" in item:
            name = draw(st.sampled_from(["task", "fields"]))
            item[name] = draw(st.sampled_from([v for v in WRONG if v is not None]))
        else:
            name = draw(st.sampled_from(REQUIRED_TEXT[item["type"]] + ["id", "title"]))
            item[name] = draw(
                st.sampled_from([v for v in WRONG if name not in ("id", "title") or v is not None])
            )
            if name == "id" and type(item[name]) is int:
                item[name] = [1]
        return encode(body()), (422, [at(where, name)]), items
    if mutation == "unknown":
        item[draw(st.sampled_from(["respones_a", "label", "Prompt", "x" * 300]))] = "x"
        return encode(body()), (422, [where, "unknown field"]), items
    if mutation == "labels":
        item.clear()
        labels = bad_labels(draw, BAD_LABEL_KINDS.index(variant))
        item.update({"type": "classification", "fields": {"text": "t"}, "labels": labels, "instruction": "i"})
        return encode(body()), (422, [at(where, "labels")]), items
    if mutation == "scale":
        item.clear()
        item.update({"type": "pointwise", "prompt": "p", "response": "r", "scale": SENTINEL})
        return encode(body(), variant), (422, [where, "scale"]), items
    if mutation == "blank":
        item.clear()
        prompt = draw(st.sampled_from(["", " ", "\n\t", "\x1f"]))
        item.update({"type": "pairwise", "prompt": prompt, "response_a": "a", "response_b": "b"})
        return encode(body()), (422, [where, "prompt"]), items
    if mutation == "long":
        item.clear()
        text = "p" * draw(st.integers(MAX_ITEM_CHARS + 1, 3 * MAX_ITEM_CHARS))
        item.update({"type": "pairwise", "prompt": text, "response_a": "a", "response_b": ""})
        return encode(body()), (413, [where or "the item", f"limit of {MAX_ITEM_CHARS}"]), items
    if mutation == "top_level":
        return encode(draw(st.sampled_from([[body()], 3, "x", None, True]))), (422, ["body"]), items
    if mutation == "too_many":
        return encode({"items": items * 65}), (413, ["items", "limit of 64"]), items
    item["type"] = draw(st.sampled_from(["ranking", "Pairwise", 1, None, ["pairwise"]]))
    item.pop("task", None)
    return encode(body()), (422, [at(where, "type")]), items


def check_error(r, status: int, words: list[str]) -> None:
    assert r.status_code == status, (r.status_code, r.text[:500])
    err = r.json()["error"]
    assert err["type"].endswith("_error") and err["code"]
    message = err["message"]
    assert message and "\n" not in message and len(message) < 2_000, message[:500]
    for w in words:
        assert w in message, (w, message)


# ------------------------------------------------------------------------------------------ judge

GOOD_PAIR = {"type": "pairwise", "prompt": "p", "response_a": "a", "response_b": "b"}


@pytest.mark.parametrize(
    "mutation, variant", JUDGE_CASES, ids=[f"{m}-{v[:12]}".rstrip("-") for m, v in JUDGE_CASES]
)
@PER_MUTATION
@given(data=st.data())
def test_broken_judge_bodies_get_a_4xx_that_says_where(client, mutation, variant, data):
    raw, (status, words), _ = data.draw(judge_case(mutation, variant), label="case")
    r = client.post("/v1/judge", content=raw, headers={"content-type": "application/json"})
    assert r.status_code < 500, r.text[:500]
    check_error(r, status, words)
    assert client.post("/v1/judge", json=GOOD_PAIR).status_code == 200  # and the service still serves


@PROPERTY
@given(judge_case())
def test_every_item_of_a_good_judge_body_is_judged(client, case):
    raw, _, items = case
    r = client.post("/v1/judge", content=raw, headers={"content-type": "application/json"})
    assert r.status_code == 200, r.text[:500]
    body = r.json()
    rows = body.get("results", [body])
    assert len(rows) == len(items)
    for k, (row, item) in enumerate(zip(rows, items, strict=True)):
        assert row["id"] == str(item["id"] if item.get("id") is not None else k)
        assert math.isclose(sum(row["probs"].values()), 1.0, rel_tol=1e-6)
        assert row["prediction"] in row["probs"]
        if item.get("type") == "classification":
            assert set(row["probs"]) == set(item["labels"])
        if item.get("type") == "pairwise":
            assert set(row["probs"]) == ({"A", "B", "tie"} if item.get("allow_tie") else {"A", "B"})


# ------------------------------------------------------------------------------------------- chat

CHAT_ITEM = item_strategy(PLAIN, names=st.sampled_from(["text", "claim", "source doc"]), with_tasks=False)
RENDERERS = [render_input, render_prompt, render_label_prefix]
# (field, wrong value, words of the reason): a field of the body, or of its one message (role, content).
CHAT_WRONG_TYPES = [
    ("messages", "hi", ["messages"]),
    ("messages", {"role": "user"}, ["messages"]),
    ("messages", ["hi"], ["messages[0]"]),
    ("role", 1, ["messages[0].role"]),
    ("role", None, ["messages[0].role"]),
    ("content", 5, ["messages[0].content"]),
    ("content", [{"type": "text", "text": 5}], ["messages[0].content"]),
    ("content", [{"text": "x"}], ["messages[0].content"]),
    ("content", ["x"], ["messages[0].content"]),
    ("logprobs", "yes", ["logprobs"]),
    ("top_logprobs", 21, ["top_logprobs"]),
    ("top_logprobs", -1, ["top_logprobs"]),
    ("max_tokens", 0, ["max_tokens"]),
    ("max_tokens", "5", ["max_tokens"]),
    ("max_completion_tokens", 1.5, ["max_completion_tokens"]),
    ("n", 2, ["n"]),
    ("model", 5, ["model"]),
    ("stream", "no", ["stream"]),
    ("guided_choice", "A", ["guided_choice"]),
    ("guided_choice", [1, 2], ["guided_choice"]),
    ("guided_choice", {"A": 1}, ["guided_choice"]),
]
CHAT_CASES = [
    *(("json", k) for k in JSON_KINDS),
    *(("wrong_type", k) for k in range(len(CHAT_WRONG_TYPES))),
    *(("labels", k) for k in BAD_LABEL_KINDS),
    *((m, "") for m in ("duplicate", "not_flame", "long", "empty", "top_level", "no_messages", "stream")),
]


@st.composite
def chat_case(draw, mutation=None, variant=""):
    """(body bytes, None for a good body or (status, words) for a broken one, the guided_choice sent)."""
    item = draw(CHAT_ITEM)
    ex = item_to_example(parse_item(item, ""))
    text = draw(st.sampled_from(RENDERERS))(ex)
    labels = list(ex.labels)
    content: object = text
    if draw(st.booleans()):  # OpenAI's content parts; non-text parts are skipped
        cut = draw(st.integers(0, len(text)))
        content = [{"type": "text", "text": text[:cut]}, {"type": "image_url", "image_url": {"url": "x"}}]
        content.append({"type": "text", "text": text[cut:]})
    message = {"role": draw(st.sampled_from(["user", "system", "assistant"])), "content": content}
    body = {"messages": [message], "guided_choice": labels}
    body.update(
        draw(
            optional(
                logprobs=st.booleans(),
                top_logprobs=st.integers(0, 20),
                max_tokens=st.integers(1, 10**6),
                temperature=st.floats(0, 2),
                model=st.text(max_size=10),
                user=st.text(max_size=10),
                stream=st.just(False),
            )
        )
    )
    if mutation is None:
        return encode(body), None, labels
    if mutation == "json":
        raw, words = json_level(draw, variant)
        target = draw(st.sampled_from(["content", "role", "guided_choice", "temperature", "new"]))
        if target in ("content", "role"):
            message[target] = SENTINEL
        else:
            body[target] = SENTINEL
        return encode(body, raw), (400, ["body:", *words]), labels
    if mutation == "duplicate":
        if draw(st.booleans()):
            message[KEY] = 0
            return encode(body, key_raw='"role": "user"'), (400, ["body:", "duplicate key 'role'"]), labels
        body[KEY] = 0
        raw_key = '"guided_choice": ["A", "B"]'
        return encode(body, key_raw=raw_key), (400, ["body:", "duplicate key 'guided_choice'"]), labels
    if mutation == "wrong_type":
        field, value, words = CHAT_WRONG_TYPES[variant]
        (message if field in ("role", "content") else body)[field] = value
        return encode(body), (400, words), labels
    if mutation == "labels":
        body["guided_choice"] = bad_labels(draw, BAD_LABEL_KINDS.index(variant))
        return encode(body), (400, ["guided_choice"]), labels
    if mutation == "not_flame":  # guided_choice needs a FLAMe prompt
        message["content"] = draw(PLAIN | TEXT)
        return encode(body), (400, ["guided_choice"]), labels
    if mutation == "long":
        message["content"] = text + "x" * draw(st.integers(MAX_ITEM_CHARS, 3 * MAX_ITEM_CHARS))
        return encode(body), (413, ["limit of"]), labels
    if mutation == "empty":
        message["content"] = draw(st.sampled_from(["", " ", [], None, [{"type": "text", "text": "\n"}]]))
        return encode(body), (400, ["messages"]), labels
    if mutation == "top_level":
        return encode(draw(st.sampled_from([[body], 1, "x", None]))), (400, ["body"]), labels
    if mutation == "no_messages":
        body["messages"] = []
        return encode(body), (400, ["messages"]), labels
    body["stream"] = True
    return encode(body), (400, ["stream"]), labels


@pytest.mark.parametrize("mutation, variant", CHAT_CASES, ids=[f"{m}-{v}".rstrip("-") for m, v in CHAT_CASES])
@PER_MUTATION
@given(data=st.data())
def test_broken_chat_bodies_get_a_4xx_that_says_where(client, mutation, variant, data):
    raw, (status, words), _ = data.draw(chat_case(mutation, variant), label="case")
    r = client.post("/v1/chat/completions", content=raw, headers={"content-type": "application/json"})
    assert r.status_code < 500, r.text[:500]
    check_error(r, status, words)


@PROPERTY
@given(chat_case())
def test_a_good_chat_body_is_judged_with_its_guided_choice(client, case):
    raw, _, labels = case
    r = client.post("/v1/chat/completions", content=raw, headers={"content-type": "application/json"})
    assert r.status_code == 200, r.text[:500]
    body = r.json()
    assert body["flame"]["labels"] == labels and set(body["flame"]["probs"]) == set(labels)
    (choice,) = body["choices"]
    assert choice["message"]["content"] in labels
    if json.loads(raw).get("logprobs"):
        (token,) = choice["logprobs"]["content"]
        assert {t["token"] for t in token["top_logprobs"]} == set(labels)
