"""FLAMe's unified text-to-text format (paper §3.4, Fig. 2): one renderer and one parser.

    INSTRUCTIONS:
    title: ...
    description: ...
    output_fields: answer

    CONTEXT:
    article: ...
    summary: ...

is the input; the target is

    EVALUATION:
    answer: No

and the full training text is ``render_input(ex) + SEPARATOR + render_target(ex)``.
"""

from __future__ import annotations

import dataclasses
import re
from dataclasses import dataclass, field

from flame.types import Example

SEPARATOR = "\n\n"
EVALUATION_HEADER = "EVALUATION:"


def _field_line(label: str, value: str) -> str:
    # Values keep their own newlines: a dialogue or an article stays readable and the model sees
    # the same text a human annotator saw. Only surrounding whitespace is trimmed.
    return f"{label}: {str(value).strip()}"


def render_instructions(ex: Example) -> str:
    return "\n".join(
        [
            "INSTRUCTIONS:",
            _field_line("title", ex.title),
            _field_line("description", ex.description),
            _field_line("output_fields", ", ".join(ex.output_fields)),
        ]
    )


def render_context(ex: Example) -> str:
    return "\n".join(["CONTEXT:", *(_field_line(k, v) for k, v in ex.inputs.items())])


def render_input(ex: Example) -> str:
    """INSTRUCTIONS and CONTEXT blocks: what the autorater reads."""
    return render_instructions(ex) + SEPARATOR + render_context(ex)


def render_target(ex: Example) -> str:
    """The EVALUATION block: what the autorater should write (the human judgment)."""
    lines = [EVALUATION_HEADER]
    lines += [_field_line(name, ex.targets[name]) for name in ex.output_fields if name in ex.targets]
    return "\n".join(lines)


def render_prompt(ex: Example) -> str:
    """Input followed by the EVALUATION header: the prefix a generating rater continues."""
    return render_input(ex) + SEPARATOR + EVALUATION_HEADER + "\n"


def render_label_prefix(ex: Example, rationale: str | None = None) -> str:
    """The shared prefix for scoring a closed label space: every label is scored as ``" " + label``.

    Why the space belongs to the label: BPE tokenizers (SmolLM2, Llama, Gemma) merge the leading space
    into the label token (" A", " No"), which is the token a trained model emits after ``answer:``.
    ``rationale``: what the judge wrote first (``--explain before``, `explain_first`): the labels are then
    scored after its ``explanation:`` line, so the rationale can inform the answer.
    """
    if rationale is None:
        return render_prompt(ex) + "answer:"
    return render_prompt(ex) + _field_line(RATIONALE_FIELD, rationale) + "\nanswer:"


# The EVALUATION field a rationale is written in: the paper's name for it, the one tasks with an explanation
# target already use (so a judge trained on them writes it the same way).
RATIONALE_FIELD = "explanation"


def explain_first(ex: Example) -> Example:
    """``ex`` asking for a rationale before the answer: ``output_fields`` with ``explanation`` first
    (``explanation, answer``), so INSTRUCTIONS announce the order the judge writes in."""
    rest = tuple(f for f in ex.output_fields if f != RATIONALE_FIELD)
    return dataclasses.replace(ex, output_fields=(RATIONALE_FIELD, *rest))


def explain_after(ex: Example) -> Example:
    """``ex`` asking for an explanation after the answer (``--explain after``): ``explanation`` appended to
    ``output_fields`` unless the task has it already."""
    if RATIONALE_FIELD in ex.output_fields:
        return ex
    return dataclasses.replace(ex, output_fields=(*ex.output_fields, RATIONALE_FIELD))


# --------------------------------------------------------------------------------------- parsing


@dataclass
class ParsedEvaluation:
    fields: dict[str, str] = field(default_factory=dict)
    failure: str | None = None

    @property
    def ok(self) -> bool:
        return self.failure is None


_FIELD_RE = re.compile(r"^\s*\**\s*([A-Za-z_][A-Za-z _]*?)\s*\**\s*:\s*(.*)$")
_PAIRWISE_WORDS = re.compile(r"^(?:response|output|answer|assistant|option)\s*\(?([ab])\)?$", re.IGNORECASE)


def normalize_label(value: str, labels: tuple[str, ...]) -> str | None:
    """Map a generated answer onto the closed label space, or None when it is not one of them.

    Accepts case and decoration differences ("a", "(A)", "**B**", "Response B", "4.0", "4/5", "yes.")
    but never guesses between labels.
    """
    text = value.strip().strip("*_`'\"").strip()
    text = re.sub(r"[.!,;]+$", "", text).strip()
    text = text.strip("()[]").strip()
    by_lower = {lab.lower(): lab for lab in labels}
    if text.lower() in by_lower:
        return by_lower[text.lower()]
    m = _PAIRWISE_WORDS.match(text)
    if m and m.group(1).upper() in labels:
        return m.group(1).upper()
    m = re.fullmatch(r"(-?\d+)(?:\.0+)?(?:\s*/\s*\d+)?", text)
    if m and m.group(1) in labels:
        return m.group(1)
    return None


def parse_evaluation(
    text: str, output_fields: tuple[str, ...] = ("answer",), labels: tuple[str, ...] | None = None
) -> ParsedEvaluation:
    """Parse an EVALUATION block back into fields.

    A missing ``answer`` or an answer outside the label space is a parse failure (counted by the
    caller), never a silent default. Lines that do not start a known field continue the previous one.
    """
    wanted = {f.lower(): f for f in output_fields}
    fields: dict[str, str] = {}
    current: str | None = None
    body = text.strip()
    if body.upper().startswith(EVALUATION_HEADER):
        body = body[len(EVALUATION_HEADER) :]
    for line in body.splitlines():
        m = _FIELD_RE.match(line)
        name = m.group(1).strip().lower() if m else None
        if name in wanted and wanted[name] not in fields:
            current = wanted[name]
            fields[current] = m.group(2).strip()
        elif current is not None:
            fields[current] = (fields[current] + "\n" + line).strip()
    if "answer" in wanted and "answer" not in fields:
        # An endpoint may answer with the bare label ("B") instead of the whole block.
        bare = normalize_label(body, labels) if labels else None
        if bare is None:
            return ParsedEvaluation(fields, failure="no 'answer:' field")
        fields["answer"] = bare
    if labels is not None and "answer" in fields:
        first_line = fields["answer"].splitlines()[0] if fields["answer"] else ""
        label = normalize_label(first_line, labels)
        if label is None:
            bad = fields.pop("answer")
            return ParsedEvaluation(fields, failure=f"answer {bad[:40]!r} is not one of {list(labels)}")
        fields["answer"] = label
    return ParsedEvaluation(fields)


_ANSWER_LINE = re.compile(r"^\s*\**\s*answer\s*\**\s*:(.*)$", re.IGNORECASE | re.MULTILINE)


def split_rationale(text: str) -> tuple[str, str | None]:
    """What a judge wrote after ``explanation:`` (``--explain before``) → (the rationale, the value of the
    ``answer:`` line it went on to write, or None).

    The rationale ends at its first blank line or at the ``answer:`` line, whichever comes first: a
    bounded generation that ran on keeps only its first paragraph (the after mode cuts the same way).
    """
    m = _ANSWER_LINE.search(text)
    body = text[: m.start()] if m else text
    rationale = body.strip().split("\n\n")[0].strip()
    return rationale, (m.group(1).strip() if m else None)
