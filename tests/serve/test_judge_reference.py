"""/v1/judge items with an optional ``reference`` (issue 19.2): rendered like the file row, counted toward the
per-item character limit, and type-checked like every other text."""

from __future__ import annotations

from serve_helpers import in_process, pair

from flame.adhoc import REFERENCE_FIELD


def _input(answer):
    body = answer.json()
    return (body["results"][0] if "results" in body else body)["input"]


def test_a_reference_reaches_the_rendered_input():
    with in_process() as client:
        plain = client.post("/v1/judge", json={**pair(), "return_input": True})
        with_ref = client.post("/v1/judge", json={**pair(reference="Four."), "return_input": True})
        point = {
            "type": "pointwise",
            "prompt": "2+2?",
            "response": "4",
            "reference": "Four.",
            "return_input": True,
        }
        rated = client.post("/v1/judge", json=point)
    assert plain.status_code == with_ref.status_code == rated.status_code == 200
    assert REFERENCE_FIELD not in _input(plain)
    assert f"\n{REFERENCE_FIELD}: Four.\nresponse A: 4\n" in _input(with_ref)
    assert f"\n{REFERENCE_FIELD}: Four.\nresponse: 4" in _input(rated)


def test_the_reference_counts_toward_max_item_chars():
    item = pair(prompt="p", a="a", b="b")  # 3 characters of text
    with in_process(max_item_chars=10) as client:
        assert client.post("/v1/judge", json={**item, "reference": "x" * 7}).status_code == 200
        over = client.post("/v1/judge", json={**item, "reference": "x" * 8})
        many = client.post("/v1/judge", json={"items": [item, {**item, "reference": "x" * 8}]})
    assert over.status_code == 413 and "11 characters" in over.text
    assert many.status_code == 413 and "items[1]" in many.text


def test_a_reference_that_is_not_text_or_is_empty_is_refused():
    with in_process() as client:
        wrong = client.post("/v1/judge", json=pair(reference=4))
        empty = client.post("/v1/judge", json=pair(reference=" "))
        classification = client.post(
            "/v1/judge",
            json={
                "type": "classification",
                "fields": {"x": "y"},
                "labels": ["a", "b"],
                "instruction": "?",
                "reference": "r",
            },
        )
    assert wrong.status_code == 422 and "reference" in wrong.text
    assert empty.status_code == 422 and "reference" in empty.text
    assert classification.status_code == 422 and "reference" in classification.text
