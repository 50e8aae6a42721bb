"""EVOUNA (Wang et al. 2023, "Evaluating Open-QA Evaluation", NeurIPS Datasets and Benchmarks).

Files: ``evouna_qa_eval/evouna_NQ.json.gz`` (3,610 Natural Questions) and ``evouna_qa_eval/evouna_TQ.json.gz``
(2,000 TriviaQA questions). Each record holds a question, its ``golden_answer`` (alternatives separated by
``/``) and the answers of five open-QA systems (FiD, GPT-3.5, ChatGPT, GPT-4, New Bing), each with a human
correctness judgment ``judge_<model>`` (True/False). One task per file; one record gives up to five rows, one
per model answer (``metadata["subset"]`` = the model).

Unlabeled: questions the authors flagged ``improper`` (ambiguous or time-dependent questions, wrong gold
answers: 590 in NQ, 62 in TQ). Their judgments are not usable: most are missing, and the 335 (NQ) / 235 (TQ)
that exist judge answers against a gold answer the authors themselves rejected (e.g. "who is the president of
usa right now" | gold "Donald Trump"), so the label often contradicts the evidence shown. Also Unlabeled: a
record whose answers all lack a judgment (``judge_<model>`` None in NQ, the string "nan" in TQ); a single
unjudged answer (mostly New Bing answers never collected) is skipped and the record's other answers kept.
BadRow: a judged answer whose text is missing (null) or empty but judged *correct* (the text was evidently
lost in the export, so the label no longer describes it); an empty answer judged incorrect is kept. to_row
works per record, so such a record is rejected whole, losing its other judged answers.
"""

from __future__ import annotations

from flame.data.sources import LocalFiles
from flame.data.task import BadRow, Row, Task, Unlabeled, register_task, require_text
from flame.types import YES_NO, TaskType

LICENSE = "Apache-2.0"
MODELS = ("fid", "gpt35", "chatgpt", "gpt4", "newbing")
FILES = {
    "nq": ("evouna_qa_eval/evouna_NQ.json.gz", "Natural Questions"),
    "tq": ("evouna_qa_eval/evouna_TQ.json.gz", "TriviaQA"),
}


def judge_label(value: object) -> str:
    """True -> Yes, False -> No; None/"nan" -> Unlabeled; anything else -> BadRow."""
    if value is True:
        return "Yes"
    if value is False:
        return "No"
    if value is None or (isinstance(value, str) and value.strip().lower() in ("nan", "none", "")):
        raise Unlabeled("no human judgment")
    raise BadRow(f"judgment {value!r} is not True/False")


def evouna_rows(record: dict, models: tuple[str, ...] = MODELS) -> list[Row]:
    """One question -> one row per model answer that carries a human judgment.

    Raises Unlabeled when the question is flagged improper or no answer of it is judged, and BadRow when a judged answer is malformed
    (so that a record is never half-counted silently, a single bad answer rejects the record).
    """
    if record.get("improper") is True:
        raise Unlabeled(
            "question flagged improper by the EVOUNA authors (ambiguous, outdated or wrong gold answer)"
        )
    rows: list[Row] = []
    for model in models:
        try:
            label = judge_label(record.get(f"judge_{model}"))
        except Unlabeled:
            continue
        question = require_text(record, "question")
        golden = require_text(record, "golden_answer")
        answer = require_text(record, f"answer_{model}", allow_empty=True)
        if not answer and label == "Yes":
            raise BadRow(f"empty answer_{model} judged correct (answer text lost)")
        rows.append(
            Row(
                inputs={"question": question, "reference answers": golden, "response": answer},
                answer=label,
                metadata={"subset": model},
            )
        )
    if not rows:
        raise Unlabeled("no model answer of this question has a human judgment")
    return rows


for _key, (_path, _benchmark) in FILES.items():
    register_task(
        Task(
            name=f"evouna_qa_eval_{_key}_correctness_classification_v1",
            dataset="evouna_qa_eval",
            task_type=TaskType.CLASSIFICATION,
            capability="factuality",
            license=LICENSE,
            title="Is the model's answer to the question correct?",
            description=(
                f"In this task, you will be shown a {_benchmark} question, its reference answers (alternative "
                "correct answers separated by '/') and a model's answer. Judge whether the model's answer "
                "correctly answers the question: it is correct if it states an answer that matches one of the "
                "reference answers in meaning (a paraphrase, a more specific or a longer explanatory answer is "
                "fine), and incorrect if it gives a different answer, contradicts the reference answers, or does "
                "not answer the question. Answer 'Yes' if the model's answer is correct, 'No' if it is not."
            ),
            source=LocalFiles(_path),
            to_row=evouna_rows,
            labels=YES_NO,
            reference="reference answers",  # shown since v1 (the marker changes no text)
            notes=(
                "Five model answers per question (subset = fid, gpt35, chatgpt, gpt4, newbing); a record with a "
                "malformed judged answer is rejected whole (BadRow); unjudged answers are skipped; questions "
                "flagged improper are Unlabeled."
            ),
        )
    )
