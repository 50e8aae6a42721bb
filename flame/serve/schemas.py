"""Request models of the service and their conversion to `Example`s.

An item of ``POST /v1/judge`` has the shape of one row of a benchmark file (`flame.data.files`):

    {"type": "pairwise", "prompt", "response_a", "response_b", "criterion"?, "allow_tie"?, "reference"?}
    {"type": "pointwise", "prompt", "response", "scale": [min, max], "criterion"?, "reference"?}
    {"type": "classification", "fields": {...}, "labels": [...], "instruction"}
    {"task": NAME, "fields": {...}}                      a registered task's INSTRUCTIONS and labels

and the body may carry ``"explain": "before" | "after" | true | false`` (a rationale with each judgment).

Why the benchmark-file builders do the conversion: an item sent to the service then renders to the very
text that ``flame rate FILE`` renders for the same row, so both hit the same judgment-cache entry and give
the same probabilities. Pydantic checks types and limits first, so every error names the field.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    StrictBool,
    StrictFloat,
    StrictInt,
    StrictStr,
    ValidationError,
)

from flame.types import Example, TaskType, check_labels

MAX_ID_CHARS = 200
MAX_TASK_NAME_CHARS = 200  # registered names are short; a longer one is not looked up (nor echoed back)
# A rating scale's ends: the scale becomes floats, and an integer beyond a float's range would raise there.
MAX_SCALE_END = 1e15
MAX_ERRORS_SHOWN = 5  # a list of 100,000 wrong values is one line naming the first few, not 100,000
ScaleEnd = (
    Annotated[StrictInt, Field(ge=-MAX_SCALE_END, le=MAX_SCALE_END)]
    | Annotated[StrictFloat, Field(ge=-MAX_SCALE_END, le=MAX_SCALE_END, allow_inf_nan=False)]
)


class RequestError(ValueError):
    """A client error with a message meant for the client (status 400 or 422; 404 for an unknown task)."""

    def __init__(self, message: str, status: int = 422):
        super().__init__(message)
        self.status = status


class _Item(BaseModel):
    # Unknown keys are errors: a typo ("respones_a") must not silently judge an empty response.
    model_config = ConfigDict(extra="forbid")

    id: Annotated[StrictStr, Field(max_length=MAX_ID_CHARS)] | StrictInt | None = None
    title: StrictStr | None = None


class PairwiseItem(_Item):
    type: Literal["pairwise"]
    prompt: StrictStr
    response_a: StrictStr
    response_b: StrictStr
    criterion: StrictStr | None = None
    allow_tie: StrictBool = False
    reference: StrictStr | None = None  # a reference answer: the CONTEXT field "reference answer"


class PointwiseItem(_Item):
    type: Literal["pointwise"]
    prompt: StrictStr
    response: StrictStr
    scale: tuple[ScaleEnd, ScaleEnd] = (1, 5)
    criterion: StrictStr | None = None
    reference: StrictStr | None = None


class ClassificationItem(_Item):
    type: Literal["classification"]
    fields: dict[StrictStr, StrictStr]
    labels: list[StrictStr]  # checked by `check_labels` (parse_item), the label rule of files too
    instruction: StrictStr


class TaskItem(_Item):
    task: Annotated[StrictStr, Field(max_length=MAX_TASK_NAME_CHARS)]
    fields: dict[StrictStr, StrictStr]


ITEM_MODELS: dict[str, type[_Item]] = {
    "pairwise": PairwiseItem,
    "pointwise": PointwiseItem,
    "classification": ClassificationItem,
}


class ContentPart(BaseModel):
    """One part of a message's content: ``{"type": "text", "text": ...}``; other types (images) are skipped."""

    model_config = ConfigDict(extra="allow")

    type: StrictStr
    text: StrictStr | None = None


class ChatMessage(BaseModel):
    model_config = ConfigDict(extra="allow")

    role: StrictStr
    # OpenAI clients may send content as a list of parts ({"type": "text", "text": ...}).
    content: StrictStr | list[ContentPart] | None = None

    def text(self) -> str:
        if isinstance(self.content, str):
            return self.content
        return "".join(p.text or "" for p in self.content or [] if p.type == "text")


class ChatRequest(BaseModel):
    """The subset of OpenAI's chat-completions request the service reads; other keys are accepted and ignored
    (clients send ``temperature``, ``stream: false``, ``user`` ...), since greedy scoring has no use for them."""

    model_config = ConfigDict(extra="allow")

    model: StrictStr | None = None
    messages: Annotated[list[ChatMessage], Field(min_length=1)]
    max_tokens: StrictInt | None = Field(default=None, ge=1)
    max_completion_tokens: StrictInt | None = Field(default=None, ge=1)
    logprobs: StrictBool = False
    top_logprobs: StrictInt | None = Field(default=None, ge=0, le=20)
    n: StrictInt = Field(default=1, ge=1, le=1)
    stream: StrictBool = False
    # vLLM's extension: the answer must be one of these strings. With it the answer's top_logprobs are
    # exactly the label space, scored the way the direct rater scores it.
    # Checked by `check_labels` (parse_chat_request): the label rule of /v1/judge and of files.
    guided_choice: list[StrictStr] | None = None


# ---------------------------------------------------------------------------------------- parsing


def format_validation_error(err: ValidationError, where: str = "") -> str:
    """Pydantic's errors as one line, a clause per field: ``items[2].response_a: Field required``."""
    lines = []
    errors = err.errors(include_url=False)
    for e in errors[:MAX_ERRORS_SHOWN]:
        loc = where
        for part in e["loc"]:
            loc += f"[{part}]" if isinstance(part, int) else (f".{part}" if loc else str(part))
        msg = e["msg"]
        if e["type"] == "extra_forbidden":
            msg = "unknown field"
        lines.append(f"{loc or 'body'}: {msg}")
    if len(errors) > MAX_ERRORS_SHOWN:
        lines.append(f"and {len(errors) - MAX_ERRORS_SHOWN} more")
    return "; ".join(lines)


def parse_items(body: Any, max_items: int) -> tuple[list[_Item], bool, bool]:
    """A judge request body → (validated items, whether it was a list, return_input).

    The body is one item, or ``{"items": [...], "return_input"?: bool}``.
    """
    if not isinstance(body, dict):
        raise RequestError(
            f"the body must be a JSON object (one item or {{'items': [...]}}), not {_kind(body)}"
        )
    return_input = body.get("return_input", False)
    if not isinstance(return_input, bool):
        raise RequestError("return_input: must be true or false")
    if "items" in body:
        extra = sorted(set(body) - {"items", *REQUEST_OPTIONS})
        if extra:
            raise RequestError(f"unknown top-level field(s) next to 'items': {', '.join(extra)}")
        raw = body["items"]
        if not isinstance(raw, list):
            raise RequestError(f"items: must be a list of items, not {_kind(raw)}")
        if not raw:
            raise RequestError("items: the list is empty")
        if len(raw) > max_items:
            raise RequestError(f"items: {len(raw)} items exceed the limit of {max_items} per request", 413)
        return [parse_item(x, f"items[{i}]") for i, x in enumerate(raw)], True, return_input
    item = {k: v for k, v in body.items() if k not in REQUEST_OPTIONS}
    return [parse_item(item, "")], False, return_input


# Top-level options of a /v1/judge body, next to "items" or to one item's own fields.
REQUEST_OPTIONS = ("return_input", "explain")


def parse_explain(body: Any) -> str | bool | None:
    """A judge body's ``explain``: ``"before"``, ``"after"``, true (before), false (none) or None (not given:
    the service's default)."""
    value = body.get("explain") if isinstance(body, dict) else None
    if value is None or isinstance(value, bool):
        return value
    if value in ("before", "after"):
        return value
    raise RequestError("explain: must be 'before', 'after', true or false")


def parse_item(obj: Any, where: str) -> _Item:
    if not isinstance(obj, dict):
        raise RequestError(f"{where or 'body'}: an item must be a JSON object, not {_kind(obj)}")
    if "task" in obj:
        model: type[_Item] = TaskItem
    elif "type" in obj:
        model = ITEM_MODELS.get(obj["type"]) if isinstance(obj["type"], str) else None
        if model is None:
            raise RequestError(
                f"{_at(where, 'type')}: {obj['type']!r} is not one of {', '.join(ITEM_MODELS)} "
                "(or give 'task' to use a registered task)"
            )
    else:
        raise RequestError(
            f"{where or 'body'}: an item needs 'type' (pairwise, pointwise, classification) or 'task'"
        )
    try:
        item = model.model_validate(obj)
    except ValidationError as e:
        raise RequestError(format_validation_error(e, where)) from None
    if isinstance(item, ClassificationItem):
        try:
            check_labels(item.labels, name=_at(where, "labels"))
        except ValueError as e:
            raise RequestError(str(e)) from None
    return item


def parse_chat_request(body: Any) -> ChatRequest:
    """A chat-completions body → the validated request; `RequestError` (400) names the field."""
    try:
        req = ChatRequest.model_validate(body)
    except ValidationError as e:
        raise RequestError(format_validation_error(e), 400) from None
    if req.guided_choice is not None:
        try:
            check_labels(req.guided_choice, name="guided_choice")
        except ValueError as e:
            raise RequestError(str(e), 400) from None
    return req


def item_chars(item: _Item) -> int:
    """The characters of text an item carries (the per-item length limit counts these, labels included:
    each label is scored, so a long label costs what a long response costs)."""
    total = 0
    # A reference answer is text the rater reads, as long as a response can be: it counts the same.
    for name in (
        "prompt",
        "reference",
        "response_a",
        "response_b",
        "response",
        "criterion",
        "instruction",
        "title",
    ):
        value = getattr(item, name, None)
        if isinstance(value, str):
            total += len(value)
    for key, value in (getattr(item, "fields", None) or {}).items():
        total += len(key) + len(value)
    total += sum(len(label) for label in getattr(item, "labels", None) or ())
    return total


# ------------------------------------------------------------------------------------ conversion


def item_to_example(item: _Item, index: int = 0, where: str = "") -> Example:
    """One validated item → the Example a benchmark file with the same row would give.

    ``index`` is the default id; ``where`` prefixes error messages (``items[3]``).
    """
    if isinstance(item, TaskItem):
        return _task_example(item, index, where)
    row = item.model_dump(exclude_none=True)
    kind = row.pop("type")
    with_tie = bool(row.pop("allow_tie", False))
    if kind == "pointwise":
        row["scale"] = list(row["scale"])
    row.setdefault("id", index)
    from flame.data import files
    from flame.data.task import BadRow

    try:
        return files.file_row_example(row, kind, "api", index, with_tie)
    except (BadRow, ValueError) as e:
        raise RequestError(f"{where + ': ' if where else ''}{e}") from None


def _task_example(item: TaskItem, index: int, where: str) -> Example:
    from flame.data.task import get_task
    from flame.registry import UnknownNameError

    try:
        task = get_task(item.task)
    except UnknownNameError as e:
        raise RequestError(f"{_at(where, 'task')}: {e.args[0]}", 404) from None
    if task.task_type == TaskType.GENERATIVE:
        raise RequestError(f"task {task.name} is generative: the service judges closed label spaces only")
    if not item.fields or not any(v.strip() for v in item.fields.values()):
        raise RequestError(f"{_at(where, 'fields')}: task {task.name} needs at least one non-empty text")
    return Example(
        task=task.name,
        task_type=task.task_type,
        title=item.title or task.title,
        description=task.description,
        inputs=dict(item.fields),
        targets={},
        labels=task.labels,
        output_fields=task.output_fields,
        id=str(item.id if item.id is not None else index),
    )


def _at(where: str, field: str) -> str:
    return f"{where}.{field}" if where else field


def _kind(value: Any) -> str:
    return {dict: "an object", list: "a list", str: "a string", bool: "a boolean", type(None): "null"}.get(
        type(value), "a number"
    )
