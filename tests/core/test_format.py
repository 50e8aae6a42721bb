"""The unified format: golden files pin the exact rendered text per task type; the parser is a table."""

from pathlib import Path

import pytest

from flame.format import normalize_label, parse_evaluation, render_input, render_label_prefix, render_target
from flame.types import Example, TaskType, score_labels

GOLDEN = Path(__file__).parent.parent / "golden"

EXAMPLES = {
    "pairwise": Example(
        task="toy_pairwise_v1",
        task_type=TaskType.PAIRWISE,
        title="Which response is more helpful?",
        description="Compare two responses to the prompt. Answer 'A' if Response A is better, 'B' otherwise.",
        inputs={"prompt": "What is 2 + 2?", "response A": "4", "response B": "It is 5."},
        targets={"answer": "A"},
        labels=("A", "B"),
        id="1",
    ),
    "pointwise": Example(
        task="toy_pointwise_v1",
        task_type=TaskType.POINTWISE,
        title="How coherent is the summary?",
        description="Rate the coherence of the summary from 1 (worst) to 5 (best).",
        inputs={"article": "The cat sat on the mat.\nIt was warm.", "summary": "A cat sat."},
        targets={"answer": "4"},
        labels=score_labels(1, 5),
        id="2",
    ),
    "classification": Example(
        task="toy_classification_v1",
        task_type=TaskType.CLASSIFICATION,
        title="Is all of the information in the summary fully attributable to the source article?",
        description="Answer 'Yes' if every fact in the summary is supported by the article, or 'No' otherwise.",
        inputs={
            "article": "Tower Hamlets Council said it would sell Draped Seated Woman.",
            "summary": "A Moore sculpture of a woman sitting on a concrete plinth is to be sold.",
        },
        targets={"answer": "No"},
        labels=("Yes", "No"),
        id="3",
    ),
    "generative": Example(
        task="toy_generative_v1",
        task_type=TaskType.GENERATIVE,
        title="Explain whether the story passes the test.",
        description="Write the expert's explanation.",
        inputs={"story": "Once upon a time.", "test": "Is the ending surprising?"},
        targets={"answer": "The ending follows directly from the setup, so it is not surprising."},
        id="4",
    ),
}


@pytest.mark.parametrize("kind", sorted(EXAMPLES))
def test_rendered_text_matches_golden_file(kind):
    ex = EXAMPLES[kind]
    text = render_input(ex) + "\n\n" + render_target(ex) + "\n"
    assert text == (GOLDEN / f"{kind}.txt").read_text()


def test_blocks_are_in_order_and_labelled():
    ex = EXAMPLES["classification"]
    text = render_input(ex)
    assert text.startswith("INSTRUCTIONS:\ntitle: Is all of the information")
    assert "\noutput_fields: answer\n\nCONTEXT:\narticle: Tower Hamlets" in text
    assert render_target(ex) == "EVALUATION:\nanswer: No"
    assert render_label_prefix(ex).endswith("\n\nEVALUATION:\nanswer:")


@pytest.mark.parametrize(
    ("text", "labels", "answer", "failure"),
    [
        ("EVALUATION:\nanswer: A", ("A", "B"), "A", None),
        ("answer: b", ("A", "B"), "B", None),
        ("  answer:  **B**  ", ("A", "B"), "B", None),
        ("answer: Response A", ("A", "B"), "A", None),
        ("answer: (A)", ("A", "B"), "A", None),
        ("B", ("A", "B"), "B", None),
        ("answer: tie", ("A", "B", "tie"), "tie", None),
        ("answer: 4", score_labels(1, 5), "4", None),
        ("answer: 4.0", score_labels(1, 5), "4", None),
        ("answer: 4/5", score_labels(1, 5), "4", None),
        ("answer: yes.", ("Yes", "No"), "Yes", None),
        ("answer: Yes\nexplanation: all facts supported", ("Yes", "No"), "Yes", None),
        ("answer: C", ("A", "B"), None, "answer 'C' is not one of ['A', 'B']"),
        ("answer: 7", score_labels(1, 5), None, "answer '7' is not one of"),
        ("I think both are fine.", ("A", "B"), None, "no 'answer:' field"),
        ("", ("Yes", "No"), None, "no 'answer:' field"),
        ("answer: A or B", ("A", "B"), None, "is not one of"),
    ],
)
def test_parser_table(text, labels, answer, failure):
    parsed = parse_evaluation(text, ("answer", "explanation"), labels)
    assert parsed.fields.get("answer") == answer
    if failure is None:
        assert parsed.ok
    else:
        assert not parsed.ok and failure in parsed.failure


def test_parser_keeps_multiline_explanation():
    parsed = parse_evaluation(
        "answer: No\nexplanation: first line\nsecond line", ("answer", "explanation"), ("Yes", "No")
    )
    assert parsed.fields == {"answer": "No", "explanation": "first line\nsecond line"}


def test_free_text_answer_for_generative_tasks():
    parsed = parse_evaluation("EVALUATION:\nanswer: The ending is abrupt.", ("answer",), None)
    assert parsed.ok and parsed.fields["answer"] == "The ending is abrupt."


def test_normalize_label_never_guesses():
    assert normalize_label("A and B", ("A", "B")) is None
    assert normalize_label("maybe", ("Yes", "No")) is None


def test_example_rejects_answer_outside_label_space():
    with pytest.raises(ValueError, match="not in the label space"):
        Example("t_v1", "pairwise", "t", "d", {"prompt": "p"}, {"answer": "C"}, ("A", "B"))


def test_example_dict_round_trip():
    for ex in EXAMPLES.values():
        assert Example.from_dict(ex.to_dict()) == ex
