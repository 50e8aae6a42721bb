"""Writing-quality preferences of professional writers (Chakrabarty et al. 2025, "AI-Slop to AI-Polish? Aligning
Language Models through Edit-Based Writing Rewards and Test-time Computation"; the WQRM annotations).

File: ``wqrm_writing_quality/WQRM_annotations.json``, 101 items in three genres (fiction 37, nonfiction 31,
marketing 33), each with a writing instruction and three candidate texts written by GPT or Llama
(``first_draft``, and two rewrites of it: ``random_cot`` with randomly sampled edits, ``best_cot`` with the
edits the reward model liked best). Two to four expert writers each ranked the three candidates ("Most
Preferred", "Second Favorite", "Least Preferred Writing Option") by writing quality.

One pairwise task: every record gives the three pairs of its candidates; a pair's label is the candidate
that the majority of the record's annotators ranked higher. Pairs without a majority (two annotators who
disagree, or a 2-2 split of four) are left out of the record's rows; a record with no agreed pair at all
is ``Unlabeled``. The candidates are stored by role, so the display order is a balanced stable hash
(``pairwise_row_fields``). The prompt is built from the instruction fields: for fiction and nonfiction the
plot summary, narrative voice and word count; marketing items only carry an id naming the product
("gpt_marketing_air_fryer"), so their prompt is "Write marketing copy for a product: air fryer."

Left out: the ``wqrm_score`` of each candidate (a reward model's score, not a human label) and the nonfiction
``paragraph`` (the published human paragraph the plot was summarised from, which annotators did not rank).
"""

from __future__ import annotations

import re
from itertools import combinations

from flame.data.preprocess import majority_vote, pairwise_row_fields
from flame.data.sources import LocalFiles
from flame.data.task import BadRow, Row, Task, Unlabeled, register_task
from flame.types import PAIRWISE_LABELS, TaskType

SOURCE = LocalFiles("wqrm_writing_quality/WQRM_annotations.json")
LICENSE = "BSD-3-Clause"

CANDIDATES = ("first_draft", "random_cot", "best_cot")
RANKS = {
    "Most Preferred Writing Option": 1,
    "Second Favorite Writing Option": 2,
    "Least Preferred Writing Option": 3,
}


def build_prompt(record: dict) -> str:
    instruction = record.get("instruction")
    if not isinstance(instruction, dict):
        raise BadRow("missing or malformed 'instruction'")
    plot = str(instruction.get("plot") or "").strip()
    if not plot:
        raise BadRow("empty instruction plot")
    marketing = re.fullmatch(r"(?:gpt|llama)_marketing_(\w+)", plot)
    if marketing:
        return f"Write marketing copy for a product: {marketing.group(1).replace('_', ' ')}."
    genre = str(record.get("genre") or "").strip()
    details = [f"Write a {genre} paragraph" if genre else "Write a paragraph"]
    if instruction.get("voice"):
        details.append(f"in the {instruction['voice']} voice")
    if instruction.get("word_count"):
        details.append(f"of about {instruction['word_count']} words")
    return " ".join(details) + f" with the following content: {plot}"


def candidate_text(record: dict, key: str) -> str:
    cand = record.get(key)
    if not isinstance(cand, dict) or not isinstance(cand.get("candidate"), str):
        raise BadRow(f"missing candidate {key!r}")
    return cand["candidate"].strip()


def wqrm_rows(record: dict) -> list[Row]:
    prompt = build_prompt(record)
    texts = {key: candidate_text(record, key) for key in CANDIDATES}
    annotations = record.get("annotations")
    if not annotations:
        raise Unlabeled("no annotations")
    if not isinstance(annotations, list):
        raise BadRow("'annotations' is not a list")
    rankings = []
    for k, ann in enumerate(annotations):
        if (
            not isinstance(ann, dict)
            or set(ann) != set(CANDIDATES)
            or not all(v in RANKS for v in ann.values())
        ):
            raise BadRow(f"annotation {k} is not a ranking of the three candidates")
        ranks = {key: RANKS[v] for key, v in ann.items()}
        if sorted(ranks.values()) != [1, 2, 3]:
            raise BadRow(f"annotation {k} gives two candidates the same rank")
        rankings.append(ranks)
    rows = []
    for x, y in combinations(CANDIDATES, 2):
        votes = [x if r[x] < r[y] else y for r in rankings]
        winner = majority_vote(votes)
        if winner is None:
            continue
        loser = y if winner == x else x
        inputs, answer = pairwise_row_fields(prompt, texts[winner], texts[loser])
        agree = votes.count(winner)
        rows.append(
            Row(
                inputs=inputs,
                answer=answer,
                metadata={
                    "subset": record.get("genre", ""),
                    "llm": record.get("llm", ""),
                    "preferred": winner,
                    "other": loser,
                    "agreement": f"{agree}/{len(votes)}",
                },
            )
        )
    if not rows:
        raise Unlabeled("the annotators agree on no pair")
    return rows


register_task(
    Task(
        name="wqrm_writing_quality_preference_pairwise_v1",
        dataset="wqrm_writing_quality",
        task_type=TaskType.PAIRWISE,
        capability="general_quality",
        license=LICENSE,
        title="Which of the two texts written for the instruction has better writing quality?",
        description=(
            "In this task, you will be shown a writing instruction (fiction, nonfiction or marketing copy) and "
            "two texts written for it. As an experienced professional writer, judge which text is better "
            "written: original and specific rather than clichéd, with precise, natural language, purposeful "
            "detail, and no purple prose, filler or awkward phrasing. Answer 'A' if Response A is better "
            "written, 'B' if Response B is better written."
        ),
        source=SOURCE,
        to_row=wqrm_rows,
        labels=PAIRWISE_LABELS,
        notes="Pairs from the majority of 2-4 expert rankings of 3 candidates; pairs without a majority left out.",
    )
)
