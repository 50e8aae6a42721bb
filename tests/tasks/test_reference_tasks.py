"""Training tasks that show a reference answer (issue 19.2): the ``_v2`` tasks add it as a CONTEXT field and
their ``_v1`` counterparts keep their text; `Task.reference` names the field for `flame tasks list`."""

from __future__ import annotations

import csv
import gzip
import hashlib
import json

import pytest
from realdata import outcomes

from flame.adhoc import REFERENCE_FIELD
from flame.data.catalog import task_record
from flame.data.task import BadRow, get_task, load_all_tasks
from flame.format import render_input, render_target
from flame.tasks.codegen_human_grades import conala_pairwise_rows, conala_v2_pointwise_rows
from flame.tasks.fgrlhf_qa_feedback import qa_feedback_rows
from flame.tasks.squality_human_eval import squality_v2_rows
from flame.tasks.truthfulqa_judge import (
    EVAL_EXAMPLES,
    FALSE_ANSWERS,
    TRUTH,
    judge_row_with_reference,
    read_judged_with_references,
)

# v2 task -> (its v1, the CONTEXT fields v2 adds, in order just before the judged response(s); the tally
# (good rows, BadRow, Unlabeled, BadRecord) when v2 judges fewer rows than v1, else None: the same rows).
V2 = {
    "fgrlhf_qa_feedback_preference_pairwise_v2": (
        "fgrlhf_qa_feedback_preference_pairwise_v1",
        [REFERENCE_FIELD],
        None,
    ),
    "truthfulqa_judge_truthfulness_classification_v2": (
        "truthfulqa_judge_truthfulness_classification_v1",
        [REFERENCE_FIELD, FALSE_ANSWERS],
        None,
    ),
    # The five systems only (the v1 tasks also judge the reference snippet itself): 472 intents x 5 rows, and
    # the pairs among five systems (30 intents have no two different snippets with different grades).
    "codegen_human_grades_conala_usefulness_pointwise_v2": (
        "codegen_human_grades_conala_usefulness_pointwise_v1",
        [REFERENCE_FIELD],
        (2360, 0, 0, 0),
    ),
    "codegen_conala_pairwise_v2": ("codegen_conala_pairwise_v1", [REFERENCE_FIELD], (2947, 0, 30, 0)),
    # The BART and BART+DPR rows (100 questions x 2); the human response is their reference.
    **{
        f"squality_human_eval_{aspect}_pointwise_v2": (
            f"squality_human_eval_{aspect}_pointwise_v1",
            [REFERENCE_FIELD],
            (200, 0, 0, 0),
        )
        for aspect in ("correctness", "selection", "overall")
    },
}
# Tasks whose reference is in their text since v1 (marked, text unchanged).
V1_WITH_REFERENCE = {
    "evouna_qa_eval_nq_correctness_classification_v1": "reference answers",
    "codegen_human_grades_hearthstone_usefulness_pointwise_v1": "reference code",
}


def test_the_reference_tasks_are_marked_and_listed():
    tasks = load_all_tasks()
    marked = {t.name: t.reference for t in tasks.values() if t.reference}
    for name in V2:
        assert marked[name] == REFERENCE_FIELD
        assert tasks.get(V2[name][0]).reference is None
    for name, field in V1_WITH_REFERENCE.items():
        assert marked[name] == field
    assert (
        task_record(tasks.get("fgrlhf_qa_feedback_preference_pairwise_v2"), None)["reference"]
        == REFERENCE_FIELD
    )
    assert task_record(tasks.get("fgrlhf_qa_feedback_preference_pairwise_v1"), None)["reference"] is None


def test_fgrlhf_v2_shows_the_gold_answer_after_the_passages():
    record = {
        "question": "When does Bloom come out?",
        "passages": [["Bloom", "It came out in 2018."]],
        "gold": "Bloom came out on 31 August 2018.",
        **{f"prediction {i}": f"p{i}" for i in range(1, 5)},
        "preference": [1, 2, 0, 1, 2, 0],
    }
    v1, v2 = qa_feedback_rows(record), qa_feedback_rows(record, with_reference=True)
    assert [list(r.inputs) for r in v1] == [["question", "passages", "response A", "response B"]] * 6
    assert [list(r.inputs) for r in v2] == [
        ["question", "passages", REFERENCE_FIELD, "response A", "response B"]
    ] * 6
    assert {r.inputs[REFERENCE_FIELD] for r in v2} == {record["gold"]}
    assert [(r.answer, r.metadata) for r in v1] == [(r.answer, r.metadata) for r in v2]
    with pytest.raises(BadRow, match="gold"):
        qa_feedback_rows({**record, "gold": " "}, with_reference=True)


CONALA = {
    "intent": "reverse list `a`",
    "snippet": ["a[::-1]"],
    "baseline": "a.sort()",
    "tranx-annot": "reversed(a)",
    "best-tranx": "a[::-1]",
    "best-tranx-rerank": "list(reversed(a))",
    "codex": "",
    "grade-baseline": 0,
    "grade-tranx-annot": 3,
    "grade-best-tranx": 4,
    "grade-best-tranx-rerank": 3,
    "grade-codex": 0,
}  # no grade of the reference snippet: v1 calls the record Unlabeled, v2 does not need it


def test_conala_v2_judges_the_five_systems_against_the_reference_snippet():
    rows = conala_v2_pointwise_rows(CONALA)
    assert [r.metadata["system"] for r in rows] == [
        "baseline",
        "tranx-annot",
        "best-tranx",
        "best-tranx-rerank",
        "codex",
    ]
    assert all(list(r.inputs) == ["intent", REFERENCE_FIELD, "code"] for r in rows)
    assert {r.inputs[REFERENCE_FIELD] for r in rows} == {"a[::-1]"}
    pairs = conala_pairwise_rows(CONALA, with_reference=True)
    assert pairs and all(
        list(r.inputs) == ["intent", REFERENCE_FIELD, "response A", "response B"] for r in pairs
    )
    assert "reference" not in {r.metadata["preferred"] for r in pairs} | {r.metadata["other"] for r in pairs}


def test_squality_v2_shows_the_human_response_and_leaves_its_own_row_out():
    record = {
        "story": "A long story.",
        "question": "What happens?",
        "response": "Things happen.",
        "human_response": "The crew lands and finds the Makers.",
        "ratings": {"correctness-rating": 70},
    }
    (row,) = squality_v2_rows({**record, "system": "bart"}, "correctness")
    assert list(row.inputs) == ["story", "question", REFERENCE_FIELD, "response"]
    assert row.inputs[REFERENCE_FIELD] == record["human_response"] and row.answer == "4"
    assert squality_v2_rows({**record, "system": "human"}, "correctness") == []
    with pytest.raises(BadRow, match="human_response"):
        squality_v2_rows({**record, "system": "bart", "human_response": None}, "correctness")


def _write_truthfulqa(root, question="Is the Earth flat?"):
    folder = root / "truthfulqa_judge"
    folder.mkdir(parents=True)
    with gzip.open(root / TRUTH, "wt") as f:
        for prompt, completion in (
            (f"Q: {question}\nA: Yes.\nTrue:", " no"),
            ("Q: Unknown?\nA: x\nTrue:", " yes"),
        ):
            f.write(json.dumps({"prompt": prompt, "completion": completion}) + "\n")
    with open(root / EVAL_EXAMPLES, "w", newline="", encoding="utf-8-sig") as f:
        w = csv.writer(f)
        w.writerow(["Category", "Source", "Question", "Examples: True", "Examples: False"])
        w.writerow(["Science", "", "Is the Earth  flat? ", "No; It is round", "Yes; It is flat"])


def test_truthfulqa_v2_joins_the_reference_answers_on_the_question(tmp_path):
    _write_truthfulqa(tmp_path)
    records = [r.data for r in read_judged_with_references(tmp_path)]
    row = judge_row_with_reference(records[0])
    assert row.inputs == {
        "question": "Is the Earth flat?",
        REFERENCE_FIELD: "No; It is round",
        FALSE_ANSWERS: "Yes; It is flat",
        "response": "Yes.",
    }
    assert row.answer == "No"
    with pytest.raises(BadRow, match="no reference answers"):
        judge_row_with_reference(records[1])


def test_a_v2_example_renders_the_reference_as_a_context_line(tmp_path):
    _write_truthfulqa(tmp_path)
    task = get_task("truthfulqa_judge_truthfulness_classification_v2")
    record = next(iter(read_judged_with_references(tmp_path))).data
    text = render_input(task.make_example(task.to_row(record), "1"))
    assert (
        "\nquestion: Is the Earth flat?\nreference answer: No; It is round\nfalse answers: Yes; It is flat\n"
        in text
    )


def _digest(examples) -> str:
    h = hashlib.sha256()
    for ex in examples:
        h.update((render_input(ex) + "\x00" + render_target(ex) + "\x01").encode())
    return h.hexdigest()[:16]


# sha256 of every rendered example (input and target) of the v1 tasks, as built before v2 existed.
V1_DIGESTS = {
    "fgrlhf_qa_feedback_preference_pairwise_v1": "842e40c5626e2109",
    "truthfulqa_judge_truthfulness_classification_v1": "55d03a5d7c133693",
    "codegen_human_grades_conala_usefulness_pointwise_v1": "c5653e58200562da",
    "codegen_conala_pairwise_v1": "8bdfedf5345ef7f2",
    "squality_human_eval_correctness_pointwise_v1": "2d808a194917ad0a",
    "squality_human_eval_selection_pointwise_v1": "5534a4a88006b461",
    "squality_human_eval_overall_pointwise_v1": "8621f22ee0b7d4b1",
}


@pytest.mark.data
@pytest.mark.parametrize("name", sorted(V2))
def test_v2_tasks_build_from_the_shared_data_and_v1_keeps_its_text(name):
    v1_name, added, tally = V2[name]
    v1, v2 = outcomes(v1_name), outcomes(name)
    assert _digest(v1.examples) == V1_DIGESTS[v1_name]
    judged = 2 if v2.task.task_type == "pairwise" else 1
    for new in v2.examples:
        keys = list(new.inputs)
        assert keys[-judged - len(added) : -judged] == added
        assert all(new.inputs[k].strip() for k in added)
    if tally is None:
        assert v2.tally == v1.tally and v2.labels == v1.labels
        for old, new in zip(v1.examples, v2.examples, strict=True):
            assert old.answer == new.answer and old.id == new.id
            assert {k: v for k, v in new.inputs.items() if k not in added} == old.inputs
    else:
        assert v2.tally == tally
        # every v2 judgment is a v1 judgment with the reference added (the same first field: the same split)
        v1_judgments = {(tuple(ex.inputs.items()), ex.answer) for ex in v1.examples}
        for new in v2.examples:
            without = tuple((k, v) for k, v in new.inputs.items() if k not in added)
            assert (without, new.answer) in v1_judgments
