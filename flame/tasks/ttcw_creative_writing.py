"""Torrance Tests of Creative Writing (Chakrabarty et al. 2024, "Art or Artifice? Large Language Models and the
False Promise of Creativity"): 48 short stories (12 New Yorker stories and, for the same plots, one story each by
GPT-3.5, GPT-4 and Claude) judged by 3 creative-writing experts on 14 binary tests (Yes/No with an explanation).

Files (``ttcw_creative_writing/``): ``ttcw_majority.json`` (majority verdict per story × test),
``ttcw_annotations.json.gz`` (each expert's verdict and explanation), ``ttcw_short_stories.json`` (story text)
and ``ttcw_all_tests.json`` (the test questions). Joined readers attach the story and the test question to each
verdict. One classification task per test (label = the experts' majority verdict), and one generative task whose
target is an expert's explanation of their verdict (the test and the verdict are given as context).
Left out, as BadRow: the 12 New Yorker stories, whose ``content`` in this release is only a URL (copyrighted
text), so every verdict on them lacks its story.
"""

from __future__ import annotations

import gzip
import json
from collections.abc import Iterator
from functools import partial
from pathlib import Path

from flame.data.sources import BadRecord, Joined, Record, read_json_records
from flame.data.task import BadRow, Row, Task, Unlabeled, register_task, require_text
from flame.types import YES_NO, TaskType

TESTS = "ttcw_creative_writing/ttcw_all_tests.json"
STORIES = "ttcw_creative_writing/ttcw_short_stories.json"
MAJORITY = "ttcw_creative_writing/ttcw_majority.json"
ANNOTATIONS = "ttcw_creative_writing/ttcw_annotations.json.gz"
LICENSE = "BSD-3-Clause"

# idx -> (slug, Torrance dimension, question, the test's guidance condensed from ttcw_all_tests.json full_prompt).
TTCW_TESTS = {
    1: ("narrative_ending", "Fluency", "Does the end of the story feel natural and earned, as opposed to arbitrary or abrupt?",
        "A strong ending is the moment the whole piece has been leading towards: it ties up the central conflicts "
        "and character arcs and gives a sense of closure, rather than stopping abruptly as if the writer were "
        "tired of writing."),
    2: ("understandability_and_coherence", "Fluency",
        "Do the different elements of the story work together to form a unified, engaging, and satisfying whole?",
        "A well-crafted story follows a logical path in which every scene, action and line of dialogue serves the "
        "story, and its themes, plotlines and character arcs interweave into a harmonious whole rather than feeling "
        "disjointed."),
    3: ("scene_vs_summary", "Fluency",
        "Does the story have an appropriate balance between scene and summary/exposition or it relies on one of the elements heavily compared to the other?",
        "Scenes dramatise moments in real time through interaction, dialogue and action; summary or exposition "
        "compresses time and supplies background. Too many scenes can feel slow, too much exposition dry."),
    4: ("narrative_pacing", "Fluency",
        "Does the manipulation of time in terms of compression or stretching feel appropriate and balanced?",
        "Pacing is the compression of long stretches of story time into a few lines and the stretching of brief "
        "moments over many; a skilled writer controls this relation to shape the reader's engagement."),
    5: ("language_proficiency_and_literary_devices", "Fluency",
        "Does the story make sophisticated use of idiom or metaphor or literary allusion?",
        "Sophisticated idiom lends authenticity to voices, original metaphors reveal deeper insight, and literary "
        "allusions add contextual richness; used well they give the story depth and nuanced meaning."),
    6: ("emotional_flexibility", "Flexibility",
        "Does the story achieve a good balance between interiority and exteriority, in a way that feels emotionally flexible?",
        "Exteriority is observable action, dialogue and setting; interiority is the characters' thoughts, feelings "
        "and memories. Too much exteriority feels shallow, too much interiority loses the plot's momentum."),
    7: ("structural_flexibility", "Flexibility", "Does the story contain turns that are both surprising and appropriate?",
        "Good turns subvert the reader's expectations yet feel fitting in hindsight, consistent with the story's "
        "world, characters and themes, rather than shocking for their own sake."),
    8: ("perspective_and_voice_flexibility", "Flexibility",
        "Does the story provide diverse perspectives, and if there are unlikeable characters, are their perspectives presented convincingly and accurately?",
        "A good writer depicts a range of viewpoints, including morally ambiguous or unappealing characters, by "
        "conveying their motivations and beliefs believably and consistently, creating three-dimensional characters."),
    9: ("originality_in_thought", "Originality", "Is the story an original piece of writing without any cliches?",
        "A cliche is an idea, expression, character or plot overused to the point of losing its impact and "
        "becoming predictable; an original story avoids them."),
    10: ("originality_in_form_and_structure", "Originality", "Does the story show originality in its form and/or structure?",
         "Innovative form or structure can mean unconventional timelines or narrators, unusual formats (letters, "
         "documents), genre hybridity, departures from traditional plot structure, or inventive language and style."),
    11: ("originality_in_theme_and_content", "Originality",
         "Will an average reader of this story obtain a unique and original idea from reading it?",
         "A good story leaves the reader with new insights, perspectives or understanding of human nature, "
         "cultures or ideas beyond the plot itself, and has a lasting impact."),
    12: ("rhetorical_complexity", "Elaboration",
         "Are there passages in the story that involve subtext and when there is subtext, does it enrich the story's setting or does it feel forced?",
         "Beyond the surface level of explicit action and dialogue, effective fiction carries subtext: implicit "
         "motives, emotions, commentary or symbolism that add depth and layers of interpretation."),
    13: ("world_building_and_setting", "Elaboration", "Does the writer make the fictional world believable at the sensory level?",
         "Details of sight, sound, touch, taste and smell can paint the story's environment so that it feels "
         "tangible, helping the reader suspend disbelief even in a fantastical setting."),
    14: ("character_development", "Elaboration",
         "Does each character in the story feel developed at the appropriate complexity level, ensuring that no character feels like they are present simply to satisfy a plot requirement?",
         "Flat characters embody a single trait and serve the plot; complex (round) characters have depth, varied "
         "traits and change over time. Good stories give characters the depth their role calls for."),
}  # fmt: skip


def _load_json(root: Path, path: str):
    raw = (root / path).read_bytes()
    return json.loads(gzip.decompress(raw) if path.endswith(".gz") else raw)


def _stories_and_tests(root: Path) -> tuple[dict[str, dict], dict[int, dict]]:
    stories = {str(s.get("story_id")): s for s in _load_json(root, STORIES) if isinstance(s, dict)}
    tests = {}
    for t in _load_json(root, TESTS):
        if isinstance(t, dict) and isinstance(t.get("ttcw_idx"), int):
            tests[t["ttcw_idx"]] = t
    return stories, tests


def read_verdicts(root: Path, path: str, ttcw_idx: int | None = None) -> Iterator[Record | BadRecord]:
    """Verdict records (majority or per expert) with ``story`` and ``question`` attached; one test or all."""
    stories, tests = _stories_and_tests(root)
    for rec in read_json_records(root / path, path):
        if isinstance(rec, BadRecord):
            yield rec
            continue
        d = rec.data
        if ttcw_idx is not None and d.get("ttcw_idx") != ttcw_idx:
            continue
        story = stories.get(str(d.get("story_id")))
        test = tests.get(d.get("ttcw_idx"))
        yield Record(
            rec.location,
            {
                **d,
                "story": story.get("content") if story else None,
                "story_name": story.get("story_name", "") if story else "",
                "question": test.get("question") if test else None,
                "test_category": test.get("category", "") if test else "",
            },
        )


def story_text(record: dict) -> str:
    story = require_text(record, "story")
    if story.startswith(("http://", "https://")) and "\n" not in story and " " not in story:
        raise BadRow(f"story {record.get('story_id')!r} is only a URL (text not released)")
    return story


def verdict(record: dict) -> str:
    value = record.get("binary_verdict")
    if value is None or str(value).strip() in ("", "NA", "None"):
        raise Unlabeled("no verdict")
    value = str(value).strip().capitalize()
    if value not in YES_NO:
        raise BadRow(f"verdict {record.get('binary_verdict')!r} is not Yes/No")
    return value


def _metadata(record: dict) -> dict:
    story_id = str(record.get("story_id", ""))
    return {
        "story_id": story_id,
        "author": story_id.split("_", 1)[1] if "_" in story_id else "",
        "ttcw_idx": record.get("ttcw_idx"),
        "subset": str(record.get("test_category") or record.get("category") or ""),
    }


def ttcw_row(record: dict) -> Row:
    """A majority verdict of one test on one story."""
    answer = verdict(record)
    return Row(inputs={"story": story_text(record)}, answer=answer, metadata=_metadata(record))


def ttcw_explanation_row(record: dict) -> Row:
    """One expert's explanation of their verdict on one test for one story."""
    answer = verdict(record)
    story = story_text(record)
    explanation = require_text(record, "explanation")
    return Row(
        inputs={"story": story, "question": require_text(record, "question"), "verdict": answer},
        answer=explanation,
        metadata={**_metadata(record), "expert": str(record.get("expert_idx", ""))},
    )


for _idx, (_slug, _dimension, _question, _guidance) in TTCW_TESTS.items():
    register_task(
        Task(
            name=f"ttcw_creative_writing_{_slug}_classification_v1",
            dataset="ttcw_creative_writing",
            task_type=TaskType.CLASSIFICATION,
            capability="general_quality",
            license=LICENSE,
            title=_question,
            description=(
                f"In this task, you will be shown a short story and judge it on one Torrance test of creative "
                f"writing ({_dimension}). {_guidance} Answer 'Yes' if the story passes the test, or 'No' if it "
                "does not."
            ),
            source=Joined(
                partial(read_verdicts, path=MAJORITY, ttcw_idx=_idx), paths=(MAJORITY, STORIES, TESTS)
            ),
            to_row=ttcw_row,
            labels=YES_NO,
            hub=None,
            notes="Label = majority of 3 creative-writing experts; New Yorker stories are URL-only (BadRow).",
        )
    )

register_task(
    Task(
        name="ttcw_creative_writing_explanation_generative_v1",
        dataset="ttcw_creative_writing",
        task_type=TaskType.GENERATIVE,
        capability="general_quality",
        license=LICENSE,
        title="Why does the story pass or fail this Torrance test of creative writing?",
        description=(
            "In this task, you will be shown a short story, a question from the Torrance Tests of Creative Writing "
            "(about its narrative ending, coherence, pacing, use of language, emotional or structural flexibility, "
            "originality, subtext, world building or characters) and a creative-writing expert's Yes/No verdict. "
            "Write the expert's explanation of the verdict: a few sentences that point to specific passages or "
            "features of the story and say why they make it pass or fail the test."
        ),
        source=Joined(partial(read_verdicts, path=ANNOTATIONS), paths=(ANNOTATIONS, STORIES, TESTS)),
        to_row=ttcw_explanation_row,
        labels=None,
        hub=None,
        notes="Target = one expert's free-text explanation (3 experts per story and test).",
    )
)
