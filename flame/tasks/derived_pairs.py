"""Pairwise tasks derived from pointwise training tasks whose prompts have two or more rated responses
(issue 17, item 4; the rules are in ``flame.data.pairs``).

One ``<source without _pointwise_v1>_derived_pairs_v1`` task per source: the source's prompt fields, then
``response A`` and ``response B`` (the field names of every pairwise task here, so that a judge learns one way
of reading a pair), the source's dataset, capability, licence and split fractions. The instructions tell the
rater what it compares and repeat the source's rating guideline, less its scale sentence.

Sources left out, and why:
- ``codegen_human_grades_conala_usefulness_pointwise_v1``: ``codegen_conala_pairwise_v1`` already holds the
  pairs of those grades (the same judgments twice);
- ``mlqe_pe_da_*``: one translation per source sentence (at most one pair per language pair);
- every ``…_v2`` task: the v1 task's rows with a reference shown (pairs from both would repeat each pair);
- evaluation-only tasks (SummEval): never (``source_pairs`` refuses them).
"""

from __future__ import annotations

import re

from flame.data.pairs import DerivedPairs, pair_row
from flame.data.task import TASKS, Task, register_task
from flame.tasks import (  # noqa: F401  (the sources register first: this module sorts before most of them)
    codegen_human_grades,
    hanna,
    nlg_bagel_sfhot_sfres,
    simplification_lens,
    squality_human_eval,
    topicalchat_usr,
    wmt_mqm,
)
from flame.types import PAIRWISE_LABELS, TaskType

SUFFIX = "_pointwise_v1"
DERIVED_SUFFIX = "_derived_pairs_v1"

# family prefix -> (what the prompt is, the judged item, its plural, the title with {aspect});
# every v1 pointwise training task whose name starts with a prefix is a source.
FAMILIES = {
    "hanna_": (
        "a writing prompt",
        "story",
        "stories",
        "Which of the two stories written for the prompt has the better {aspect}?",
    ),
    "nlg_bagel_sfhot_sfres_": (
        "a meaning representation (a dialogue act with slot-value pairs for a restaurant or hotel information "
        "system; 'X' stands for a delexicalised value)",
        "utterance",
        "utterances",
        "Which of the two utterances generated from the meaning representation has the better {aspect}?",
    ),
    "simplification_lens_": (
        "a complex English sentence (from Wikipedia or the news)",
        "simplification",
        "simplifications",
        "Which of the two simplifications of the sentence has the better {aspect}?",
    ),
    "squality_human_eval_": (
        "a short story, a question about it,",
        "response",
        "responses",
        "Which of the two responses to the question about the story has the better {aspect}?",
    ),
    "topicalchat_usr_": (
        "a conversation between two people chatting about a topic, a fact from a knowledge source that the "
        "next speaker could use,",
        "next response",
        "next responses",
        "Which of the two responses to the knowledge-grounded conversation has the better {aspect}?",
    ),
    "wmt_mqm_ted_en_de_": (
        "an English segment of a TED talk transcript",
        "German translation",
        "German translations",
        "Which of the two German translations of the English TED talk segment is better?",
    ),
    "wmt_mqm_ted_zh_en_": (
        "a Chinese segment of a TED talk transcript",
        "English translation",
        "English translations",
        "Which of the two English translations of the Chinese TED talk segment is better?",
    ),
    "codegen_human_grades_hearthstone_": (
        "the reference Python implementation of a Hearthstone card (a class of the game engine)",
        "generated implementation",
        "generated implementations",
        "Which of the two generated classes is more useful for implementing the Hearthstone card?",
    ),
}
# Aspect words as a reader says them (the rest: the task name's aspect, underscores as spaces).
ASPECT_WORDS = {"meaning": "meaning preservation", "overall": "overall quality"}

_INTRO = re.compile(r"^In this task, you will be shown .+?\.(?= [A-Z])")
_SCALE = re.compile(r"\s*Answer with an integer from .+$")


def guideline(description: str) -> str:
    """A pointwise description less its first sentence (what is shown) and its closing scale sentence
    ("Answer with an integer from 1 (worst) to 5 (best)."): the rating guideline the raters followed."""
    intro = _INTRO.match(description)
    scale = _SCALE.search(description)
    if not intro or not scale:
        raise ValueError(f"not a pointwise description of the usual shape: {description[:80]!r}")
    return description[intro.end() : scale.start()].strip()


def derived_name(source: str) -> str:
    if not source.endswith(SUFFIX):
        raise ValueError(f"{source}: a pair source is a first-version pointwise task (…{SUFFIX})")
    return source[: -len(SUFFIX)] + DERIVED_SUFFIX


def derived_task(source: Task, shown: str, item: str, items: str, title: str) -> Task:
    """The pairwise task made from ``source``'s prompts with two or more rated responses."""
    if source.eval_only:
        raise ValueError(f"{source.name} is an evaluation-only benchmark: no pairs are derived from it")
    aspect = source.name[: -len(SUFFIX)].rsplit("_", 1)[-1]
    aspect = ASPECT_WORDS.get(aspect, aspect)
    return Task(
        name=derived_name(source.name),
        dataset=source.dataset,
        task_type=TaskType.PAIRWISE,
        capability=source.capability,
        license=source.license,
        title=title.format(aspect=aspect),
        description=(
            f"In this task, you will be shown {shown} and two {items}, Response A and Response B. Human raters "
            f"scored each {item} on its own, following this guideline: {guideline(source.description)} "
            f"Choose the {item} the guideline rates higher. Answer 'A' if Response A is better, 'B' if Response B "
            "is better."
        ),
        source=DerivedPairs(source),
        to_row=pair_row,
        labels=PAIRWISE_LABELS,
        split_fractions=source.split_fractions,
        derived_from=source.name,
        notes=f"Pairs of {source.name}'s rows that share a prompt and differ in label (ties skipped; at most "
        "max(6, n) pairs per prompt of n responses); splits and decontamination are the source rows'.",
    )


def sources() -> list[tuple[Task, tuple[str, str, str, str]]]:
    """(source task, its family's texts) for every v1 pointwise training task of a family, by name."""
    out = []
    for task in TASKS.values():
        if task.task_type != TaskType.POINTWISE or task.eval_only or not task.name.endswith(SUFFIX):
            continue
        family = next((f for f in FAMILIES if task.name.startswith(f)), None)
        if family is not None:
            out.append((task, FAMILIES[family]))
    return out


for _source, _texts in sources():
    register_task(derived_task(_source, *_texts))
