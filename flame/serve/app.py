"""The rating service: ``create_app(rater, settings)`` builds the FastAPI app; `run_server` serves it.

    POST /v1/judge               one item or {"items": [...]} → prediction, probabilities, parse failure
    POST /get_reward             OpenRLHF's remote reward model: {"query": [...]} → rewards (flame/serve/rewards.py)
    POST /v1/chat/completions    OpenAI-compatible, with logprobs/top_logprobs (see flame/serve/chat.py)
    GET  /v1/models              the one model (the rater spec), for OpenAI clients that list models
    GET  /v1/reports[/PATH]      the files `flame eval` wrote under --reports
    GET  /health                 liveness, queue depth, timed-out calls still running (no key needed)
    GET  /metrics                Prometheus text
    GET  /  (and HEAD)           the web page

Every error is JSON ``{"error": {"message", "type", "code"}}`` (OpenAI's shape, so its clients show the
message); unexpected exceptions become a 500 that names only the request id, and the traceback goes to
the JSON log.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import math
import mimetypes
import socket
import threading
import time
from collections.abc import Iterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from fastapi import FastAPI, Request
from fastapi.responses import FileResponse, JSONResponse, Response
from starlette.exceptions import HTTPException as StarletteHTTPException

from flame import __version__
from flame.cliargs import (
    NON_NEGATIVE_INT,
    PORT,
    POSITIVE_FLOAT,
    POSITIVE_INT,
    RangedType,
    float_range,
)
from flame.errors import FlameError
from flame.format import render_input
from flame.jsonio import JsonTextError, parse_json
from flame.serve.batcher import JudgeResult, MicroBatcher, QueueFull, RaterFailed, RaterStuck, RaterTimeout
from flame.serve.chat import (
    ChatError,
    choice_logprobs,
    completion_body,
    continue_prompt,
    example_from_prompt,
    has_language_model,
    prompt_text,
)
from flame.serve.metrics import CONTENT_TYPE, Metrics
from flame.serve.reports import list_reports, report_file
from flame.serve.rewards import (
    RewardRequestError,
    parse_reward_request,
    pointwise_reward,
    reward_body,
    reward_examples,
)
from flame.serve.schemas import (
    RequestError,
    item_chars,
    item_to_example,
    parse_chat_request,
    parse_explain,
    parse_items,
)
from flame.serve.security import KeyChecker, check_bind, log_event, parse_api_keys, setup_logging
from flame.types import Example, TaskType

STATIC = Path(__file__).parent / "static"


# The range of every numeric setting: the flags of `flame serve` use the same types, and `Settings` checks them
# again so the Python API cannot build a service that busy-loops (max_batch 0) or refuses everything.
SETTING_RANGES: dict[str, RangedType] = {
    "port": PORT,
    "max_body_bytes": POSITIVE_INT,
    "max_items": POSITIVE_INT,
    "max_item_chars": POSITIVE_INT,
    "max_batch": POSITIVE_INT,
    "batch_wait_ms": float_range(0),
    "max_queue": POSITIVE_INT,
    "request_timeout_s": POSITIVE_FLOAT,
    "call_timeout_s": POSITIVE_FLOAT,
    "max_stuck_calls": POSITIVE_INT,
    "retry_after_s": NON_NEGATIVE_INT,
    "max_new_tokens": POSITIVE_INT,
}


class SettingsError(FlameError, ValueError):
    """A `Settings` value out of its range; the message names the setting."""


@dataclass
class Settings:
    """What the operator sets (``flame serve`` flags); the defaults are the documented limits.

    Out-of-range numbers raise `SettingsError`, a ``ValueError`` (one line naming the setting), as the flags
    do at parse time."""

    host: str = "127.0.0.1"
    port: int = 8080
    api_keys: tuple[str, ...] = ()
    max_body_bytes: int = 2 * 1024 * 1024  # a full batch of 64 long items fits
    max_items: int = 64  # items per /v1/judge request
    max_item_chars: int = 100_000  # characters of text in one item (prompt + responses + fields)
    max_batch: int = 32  # items per rater call
    batch_wait_ms: float = 10.0  # how long the first item of a batch waits for company
    max_queue: int = 2048  # items waiting or in a rater call; beyond it 503 + Retry-After
    request_timeout_s: float = 60.0  # a request's whole wait for its judgments (504 after)
    call_timeout_s: float = 120.0  # one rater call; past it the call is abandoned (504 for its requests)
    # Abandoned calls whose threads still run; at this many, new work gets 503 + Retry-After until one ends
    # (each one may hold a model's memory, and a hung model would otherwise gain a thread per batch).
    max_stuck_calls: int = 4
    retry_after_s: int = 1
    max_new_tokens: int = 64  # cap on max_tokens for plain chat continuations
    cache: bool | str = True  # the SQLite judgment cache: True = the CLI's default path, False = none
    log_texts: bool = False  # put the judged texts in the request log
    reports_dir: str | None = None  # where `flame eval` wrote reports (the page lists them)
    log_level: str = "info"

    def __post_init__(self):
        for name, kind in SETTING_RANGES.items():
            value = getattr(self, name)
            integer = kind.kind is int
            if (
                isinstance(value, bool)
                or not isinstance(value, int if integer else int | float)
                or (isinstance(value, float) and not math.isfinite(value))
            ):
                raise SettingsError(
                    f"Settings.{name}: {value!r} is not {'an integer' if integer else 'a finite number'}"
                )
            try:
                kind.check(value)
            except ValueError as e:
                raise SettingsError(f"Settings.{name}: {e}") from None

    @classmethod
    def from_env(cls, environ=None, **kwargs) -> Settings:
        import os

        env = os.environ if environ is None else environ
        return cls(api_keys=parse_api_keys(env.get("FLAME_API_KEYS")), **kwargs)


class ApiError(Exception):
    def __init__(self, status: int, message: str, code: str = "", headers: dict[str, str] | None = None):
        super().__init__(message)
        self.status, self.message, self.code, self.headers = status, message, code, headers or {}


_ERROR_TYPES = {
    400: "invalid_request_error",
    401: "authentication_error",
    404: "not_found_error",
    405: "invalid_request_error",
    413: "invalid_request_error",
    422: "invalid_request_error",
    503: "overloaded_error",
    504: "timeout_error",
}


def error_response(
    status: int, message: str, code: str = "", headers: dict[str, str] | None = None
) -> JSONResponse:
    body = {
        "error": {
            "message": message,
            "type": _ERROR_TYPES.get(status, "server_error"),
            "code": code or status,
        }
    }
    return JSONResponse(body, status_code=status, headers=headers)


# ------------------------------------------------------------------------------ middleware


ROUTES = {
    "/": "page",
    "/health": "health",
    "/metrics": "metrics",
    "/v1/judge": "judge",
    "/get_reward": "reward",
    "/v1/chat/completions": "chat",
    "/v1/models": "models",
    "/v1/reports": "reports",
}


def route_name(path: str) -> str:
    if path in ROUTES:
        return ROUTES[path]
    if path.startswith("/v1/reports/"):
        return "reports"
    if path.startswith("/static/"):
        return "static"
    return "other"


class ServiceMiddleware:
    """Outermost ASGI layer: body-size gate, request id, timing, metrics, one JSON log line, last-resort 500."""

    def __init__(self, app, state: ServiceState):
        self.app = app
        self.state = state

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        state = self.state
        t0 = time.perf_counter()
        rid = state.next_request_id()
        scope.setdefault("state", {})["request_id"] = rid
        route = route_name(scope.get("path", ""))
        status = 500
        started = False

        async def send_wrapper(message):
            nonlocal status, started
            if message["type"] == "http.response.start":
                status = message["status"]
                started = True
                message.setdefault("headers", []).append((b"x-request-id", rid.encode()))
            await send(message)

        headers = dict(scope.get("headers") or [])
        declared = headers.get(b"content-length", b"")
        try:
            if declared.isdigit() and int(declared) > state.settings.max_body_bytes:
                state.reject("body_too_large")
                response = error_response(
                    413,
                    f"request body exceeds the limit of {state.settings.max_body_bytes} bytes",
                    "body_too_large",
                )
                response.headers["connection"] = "close"
                await response(scope, receive, send_wrapper)
            else:
                await self.app(scope, receive, send_wrapper)
        except Exception as e:
            log_event(state.logger, "unhandled_error", logging.ERROR, exc_info=e, request_id=rid, route=route)
            if not started:
                await error_response(500, f"internal error (request id {rid})", "internal_error")(
                    scope, receive, send_wrapper
                )
        finally:
            seconds = time.perf_counter() - t0
            state.metrics.record_request(route, status, seconds)
            if route not in ("metrics", "health", "static"):
                fields = {
                    "request_id": rid,
                    "method": scope.get("method"),
                    "path": scope.get("path"),
                    "status": status,
                    "ms": round(seconds * 1000, 2),
                    "client": (scope.get("client") or ("?",))[0],
                }
                fields.update(scope["state"].get("log", {}))
                log_event(state.logger, "request", logging.INFO if status < 500 else logging.ERROR, **fields)


# ---------------------------------------------------------------------------------- state


class ServiceState:
    """Everything the routes share: the rater, the settings, the batcher, the metrics (``app.state.service``)."""

    def __init__(self, rater, settings: Settings, logger: logging.Logger):
        self.rater = rater
        self.spec = getattr(rater, "spec", type(rater).__name__)
        self.settings = settings
        self.logger = logger
        self.metrics = Metrics()
        self.keys = KeyChecker(settings.api_keys)
        self.batcher = MicroBatcher(
            rater,
            max_batch=settings.max_batch,
            max_wait_s=settings.batch_wait_ms / 1000.0,
            max_queue=settings.max_queue,
            call_timeout_s=settings.call_timeout_s,
            max_stuck_calls=settings.max_stuck_calls,
            cache=settings.cache,
            metrics=self.metrics,
            logger=logger,
        )
        self.reports_root = Path(settings.reports_dir).resolve() if settings.reports_dir else None
        self.variants: dict[str | None, Any] = {}  # explain mode → rater variant (`explaining_rater`)
        self._rid = 0
        self.started = time.time()

    def next_request_id(self) -> str:
        self._rid += 1
        return f"r{self._rid:08d}"

    def reject(self, reason: str) -> None:
        with self.metrics.lock:
            self.metrics.rejected.inc(reason)


# ------------------------------------------------------------------------ request helpers


def service(request: Request) -> ServiceState:
    return request.app.state.service


def authorize(request: Request) -> ServiceState:
    """The request's service state, once its API key passes (401 otherwise)."""
    state = service(request)
    if not state.keys.allows(request.headers.get("authorization")):
        state.reject("unauthorized")
        raise ApiError(
            401,
            "missing or wrong API key: send 'Authorization: Bearer KEY' with a key from FLAME_API_KEYS",
            "invalid_api_key",
            {"WWW-Authenticate": "Bearer"},
        )
    return state


def note(request: Request, **fields) -> None:
    """Add fields to the request's log line (written by `ServiceMiddleware`)."""
    request.scope["state"].setdefault("log", {}).update(fields)


async def read_json(request: Request) -> Any:
    state = service(request)
    limit = state.settings.max_body_bytes
    chunks, size = [], 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            state.reject("body_too_large")
            raise ApiError(413, f"request body exceeds the limit of {limit} bytes", "body_too_large")
        chunks.append(chunk)
    raw = b"".join(chunks)
    if not raw.strip():
        raise ApiError(400, "the body is empty: send a JSON object", "empty_body")
    try:
        # The one reader of users' JSON (files use it too): bad UTF-8, deep nesting, integers over
        # 4,300 digits, lone surrogates and duplicate keys become one-line reasons, not 500s.
        return parse_json(raw)
    except JsonTextError as e:
        raise ApiError(400, f"body: {e}", "bad_json") from None


async def run_batched(request: Request, make_future):
    """Await batcher work under the request timeout, mapping its failures onto status codes."""
    state = service(request)
    settings = state.settings
    try:
        return await asyncio.wait_for(make_future(), settings.request_timeout_s)
    except RaterStuck as e:
        state.reject("stuck_calls")
        raise ApiError(503, str(e), "overloaded", {"Retry-After": str(settings.retry_after_s)}) from None
    except QueueFull:
        state.reject("queue_full")
        raise ApiError(
            503,
            "the server is busy: the judging queue is full; retry shortly",
            "overloaded",
            {"Retry-After": str(settings.retry_after_s)},
        ) from None
    except (TimeoutError, RaterTimeout) as e:
        raise ApiError(
            504,
            f"no judgment within the time limit ({settings.request_timeout_s:g} s)"
            if isinstance(e, TimeoutError)
            else str(e),
            "timeout",
        ) from None
    except RaterFailed as e:
        raise ApiError(
            500,
            f"the rater failed on this request (request id {request.scope['state']['request_id']}): {e}",
            "rater_error",
        ) from None


async def api_error(request: Request, exc: ApiError):
    return error_response(exc.status, exc.message, exc.code, exc.headers)


async def http_error(request: Request, exc: StarletteHTTPException):
    message = {
        404: f"no route {request.url.path}",
        405: f"{request.method} is not allowed on {request.url.path}",
    }
    return error_response(exc.status_code, message.get(exc.status_code, str(exc.detail)))


# ---------------------------------------------------------------------------------- routes


async def health(request: Request):
    state = service(request)
    # Degraded while a timed-out call still runs; ok again once every one has ended.
    degraded = state.batcher.stuck_calls > 0
    return {
        "status": "degraded" if degraded else "ok",
        "rater": state.spec,
        "version": __version__,
        "queue": state.batcher.depth,
        "max_queue": state.settings.max_queue,
        "abandoned_calls": state.batcher.abandoned_calls,
        "stuck_calls": state.batcher.stuck_calls,
        "max_stuck_calls": state.settings.max_stuck_calls,
        "auth": state.keys.enabled,
        "uptime_s": round(time.time() - state.started, 1),
    }


async def metrics(request: Request):
    state = authorize(request)
    return Response(state.metrics.render(), media_type=CONTENT_TYPE)


async def models(request: Request):
    state = authorize(request)
    return {
        "object": "list",
        "data": [{"id": state.spec, "object": "model", "created": int(state.started), "owned_by": "flame"}],
    }


def judge_examples(body: Any, settings: Settings) -> tuple[list[Example], bool, bool]:
    """The examples of a /v1/judge body, whether it held a list of items, and whether to return the input."""
    try:
        items, many, return_input = parse_items(body, settings.max_items)
        examples: list[Example] = []
        for i, item in enumerate(items):
            where = f"items[{i}]" if many else ""
            n = item_chars(item)
            if n > settings.max_item_chars:
                raise RequestError(
                    f"{where + ': ' if where else ''}the item holds {n} characters of text, over the limit of "
                    f"{settings.max_item_chars}",
                    413,
                )
            examples.append(item_to_example(item, i, where))
    except RequestError as e:
        raise ApiError(e.status, str(e), "invalid_item" if e.status != 404 else "unknown_task") from None
    return examples, many, return_input


def explaining_rater(state: ServiceState, body: Any):
    """The rater variant a judge body's ``explain`` asks for (None: the service's own rater and mode).

    One variant per mode, made once (`BaseRater.with_explain`: it shares the model, and its scorer once made),
    so requests asking the same mode share batches and cache entries."""
    try:
        mode = parse_explain(body)
    except RequestError as e:
        raise ApiError(e.status, str(e), "invalid_item") from None
    if mode is None:
        return None
    if mode and not getattr(state.rater, "explains", False):
        raise ApiError(400, f"the rater {state.spec} cannot explain (it writes no text)", "cannot_explain")
    if not hasattr(state.rater, "with_explain"):
        return None  # explain: false, to a rater that never explains
    key = "before" if mode is True else mode or None
    if key not in state.variants:
        state.variants[key] = state.rater.with_explain(key)
    variant = state.variants[key]
    return None if variant is state.rater else variant


async def judge(request: Request):
    state = authorize(request)
    body = await read_json(request)
    examples, many, return_input = judge_examples(body, state.settings)
    rater = explaining_rater(state, body)
    note(request, items=len(examples))
    if state.settings.log_texts:
        note(request, texts=[render_input(ex) for ex in examples])
    rid = state.batcher.new_request()
    results: list[JudgeResult] = await run_batched(request, lambda: state.batcher.judge(examples, rid, rater))
    note(request, cached=sum(r.cached for r in results))
    rows = [judgment_row(ex, r, return_input) for ex, r in zip(examples, results, strict=True)]
    if many:
        return {"rater": state.spec, "results": rows}
    return {"rater": state.spec, **rows[0]}


def has_reward_head(rater) -> bool:
    """Whether the rater scores a (prompt, response) on its own reward scale (the encoder judge does)."""
    return callable(getattr(rater, "reward_scores", None))


async def get_reward(request: Request):
    """OpenRLHF's ``POST /get_reward``: one reward per query, batched with /v1/judge under its limits."""
    state = authorize(request)
    settings = state.settings
    try:
        req = parse_reward_request(await read_json(request), settings.max_items, settings.max_item_chars)
    except RewardRequestError as e:
        raise ApiError(e.status, str(e), "invalid_request") from None
    note(request, items=len(req.pairs))
    if settings.log_texts:
        note(request, texts=[f"{p}\n---\n{r}" for p, r in req.pairs])
    rid = state.batcher.new_request()
    if has_reward_head(state.rater):
        scores = await run_batched(request, lambda: state.batcher.rewards(req.pairs, rid))
        kind = "reward_head"
    else:
        examples = reward_examples(req.pairs)
        results: list[JudgeResult] = await run_batched(request, lambda: state.batcher.judge(examples, rid))
        note(request, cached=sum(r.cached for r in results))
        scores = [pointwise_reward(r.judgment) for r in results]
        kind = "pointwise"
    return {"rater": state.spec, **reward_body(scores, req.normalize, kind)}


async def chat(request: Request):
    state = authorize(request)
    settings = state.settings
    body = await read_json(request)
    try:
        req = parse_chat_request(body)
    except RequestError as e:
        raise ApiError(e.status, str(e), "invalid_request") from None
    if req.stream:
        raise ApiError(400, "stream: true is not supported; send stream: false", "unsupported")
    text = prompt_text(req.messages)
    if not text.strip():
        raise ApiError(400, "messages: no text to continue", "invalid_request")
    # The labels are scored as the prompt is: they count toward the same limit as on /v1/judge.
    n = len(text) + sum(len(c) for c in req.guided_choice or ())
    if n > settings.max_item_chars:
        raise ApiError(
            413,
            f"the prompt{' and guided_choice hold' if req.guided_choice else ' holds'} {n} characters, over "
            f"the limit of {settings.max_item_chars}",
            "too_long",
        )
    if settings.log_texts:
        note(request, texts=[text])
    rid = state.batcher.new_request()
    # A rendered FLAMe prompt with a known label space (guided_choice, or implied by the prompt) is
    # judged by the rater itself: the direct rater's probabilities, batched and cached as /v1/judge.
    ex = example_from_prompt(text, req.guided_choice)
    if ex is None and req.guided_choice is not None:
        raise ApiError(
            400,
            "guided_choice needs a rendered FLAMe prompt (INSTRUCTIONS / CONTEXT [/ EVALUATION]) as the "
            "message text; for free text, omit guided_choice",
            "unsupported",
        )
    if ex is not None:
        return await chat_judgment(request, req, ex, rid)
    return await chat_continuation(request, req, text, rid)


async def chat_judgment(request: Request, req, ex: Example, rid):
    """/v1/chat/completions on a FLAMe prompt: the judgment as the message, its probabilities as logprobs."""
    state = service(request)
    note(request, mode="judge", items=1)
    (result,) = await run_batched(request, lambda: state.batcher.judge([ex], rid))
    j = result.judgment
    if j.probs is None or j.prediction is None:
        content, tokens = j.raw or "", None
    else:
        content, tokens = j.prediction, [choice_logprobs(j.probs, j.prediction)]
    extra = {
        "flame": {
            "labels": list(ex.labels),
            "probs": j.probs,
            "parse_failure": j.parse_failure,
            "cached": result.cached,
        }
    }
    if ex.task_type == TaskType.POINTWISE:
        extra["flame"]["expected_score"] = j.expected_score
    model = req.model or state.spec
    return completion_body(model, content, tokens if req.logprobs else None, "stop", 0, extra)


async def chat_continuation(request: Request, req, text: str, rid):
    """/v1/chat/completions on free text: the rater's language model continues it (a few tokens at most)."""
    state = service(request)
    if not has_language_model(state.rater):
        raise ApiError(
            400,
            f"the rater {state.spec} has no language model to continue free text, and the prompt is not a "
            "rendered FLAMe prompt with a known label space: send the labels as guided_choice, or use "
            "POST /v1/judge",
            "unsupported",
        )
    max_tokens = min(req.max_completion_tokens or req.max_tokens or 16, state.settings.max_new_tokens)
    top = req.top_logprobs or 0
    note(request, mode="continue", items=1)

    def work():
        try:
            return continue_prompt(state.rater, text, max_tokens, top), None
        except ChatError as e:  # the client's fault (a prompt too long): returned, not raised
            return None, str(e)

    out, problem = await run_batched(request, lambda: state.batcher.call(work, rid))
    if problem is not None:
        raise ApiError(400, problem, "too_long")
    content, tokens, finish, n_prompt = out
    model = req.model or state.spec
    return completion_body(model, content, tokens if req.logprobs else None, finish, n_prompt)


async def get_report_list(request: Request):
    state = authorize(request)
    root = state.reports_root
    if root is None or not root.is_dir():
        return {"root": str(root) if root else None, "files": []}
    # A walk of the folder: off the event loop, which keeps serving judgments meanwhile.
    return {"root": str(root), "files": await asyncio.to_thread(list_reports, root)}


async def get_report(request: Request, path: str):
    state = authorize(request)
    if state.reports_root is None:
        raise ApiError(404, "no reports folder is configured (flame serve --reports DIR)", "not_found")
    target = report_file(state.reports_root, path)
    if target is None:
        raise ApiError(404, f"no report {path[:200]!r}", "not_found")
    media = mimetypes.guess_type(target.name)[0] or "text/plain"
    if target.suffix.lower() in (".md", ".jsonl", ".csv", ".txt"):
        media = "text/plain; charset=utf-8"
    # A report's HTML runs no script and reaches nothing: it is shown, not trusted.
    headers = {
        "Content-Security-Policy": "sandbox; default-src 'none'; img-src data:; style-src 'unsafe-inline'"
    }
    return FileResponse(target, media_type=media, headers=headers)


async def page():
    return FileResponse(STATIC / "index.html", media_type="text/html; charset=utf-8")


# ------------------------------------------------------------------------------ the app


@asynccontextmanager
async def lifespan(app: FastAPI):
    state: ServiceState = app.state.service
    settings = state.settings
    await state.batcher.start()
    log_event(
        state.logger,
        "started",
        rater=state.spec,
        cache=str(state.batcher.cache_path) if state.batcher.cache_path else None,
        auth=state.keys.enabled,
        max_batch=settings.max_batch,
        batch_wait_ms=settings.batch_wait_ms,
    )
    try:
        yield
    finally:
        await state.batcher.stop()


def create_app(rater, settings: Settings | None = None) -> FastAPI:
    """The service around one rater (anything with ``judge(examples)`` and a ``spec``)."""
    state = ServiceState(rater, settings or Settings(), logging.getLogger("flame.serve"))
    app = FastAPI(
        title="flame", version=__version__, lifespan=lifespan, docs_url=None, redoc_url=None, openapi_url=None
    )
    app.state.service = state
    app.add_exception_handler(ApiError, api_error)
    app.add_exception_handler(StarletteHTTPException, http_error)
    app.add_api_route("/health", health, methods=["GET"])
    app.add_api_route("/metrics", metrics, methods=["GET"])
    app.add_api_route("/v1/models", models, methods=["GET"])
    app.add_api_route("/v1/judge", judge, methods=["POST"])
    app.add_api_route("/v1/chat/completions", chat, methods=["POST"])
    app.add_api_route("/get_reward", get_reward, methods=["POST"])
    app.add_api_route("/v1/reports", get_report_list, methods=["GET"])
    app.add_api_route("/v1/reports/{path:path}", get_report, methods=["GET"])
    app.add_api_route("/", page, methods=["GET", "HEAD"])  # HEAD: uptime probes and `curl -I`
    app.add_middleware(ServiceMiddleware, state=state)
    return app


def judgment_row(ex: Example, result: JudgeResult, return_input: bool) -> dict[str, Any]:
    """One item's answer: the same fields as a line of `flame rate` output, plus ``cached``."""
    j = result.judgment
    row: dict[str, Any] = {
        "id": ex.id,
        "prediction": j.prediction,
        "probs": j.probs,
        "parse_failure": j.parse_failure,
    }
    if ex.task_type == TaskType.POINTWISE:
        row["expected_score"] = j.expected_score
    if j.truncated:
        row["truncated"] = True
    orders = j.metadata.get("orders") if j.metadata else None
    if orders:
        row["orders"] = orders
    extra = {k: v for k, v in j.fields.items() if k != "answer"}
    if extra:
        row["fields"] = extra
    if j.fields.get("explanation") is not None:  # the rationale (explain), where clients look first
        row["explanation"] = j.fields["explanation"]
    row["cached"] = result.cached
    if return_input:
        row["input"] = render_input(ex)
    return row


# ---------------------------------------------------------------------------------- serving


def uvicorn_config(app, settings: Settings, **kwargs):
    import uvicorn

    return uvicorn.Config(
        app,
        host=settings.host,
        port=settings.port,
        access_log=False,  # the service logs each request itself, as JSON
        log_config=None,
        timeout_keep_alive=5,
        lifespan="on",
        **kwargs,
    )


def run_server(rater, settings: Settings) -> None:
    """``flame serve``: refuse an open non-loopback bind, then serve until interrupted."""
    import uvicorn

    check_bind(settings.host, settings.api_keys)
    setup_logging(settings.log_level)
    uvicorn.Server(uvicorn_config(create_app(rater, settings), settings)).run()


@contextlib.contextmanager
def running_server(rater, settings: Settings | None = None) -> Iterator[str]:
    """Serve on 127.0.0.1 at an ephemeral port in a background thread; yields the base URL (tests, benchmarks)."""
    import uvicorn

    settings = settings or Settings()
    check_bind(settings.host, settings.api_keys)
    # IPPROTO_TCP, not 0: asyncio disables Nagle (TCP_NODELAY) only on sockets whose proto says TCP, and
    # with Nagle on, a response's header and body writes wait out the client's 40 ms delayed ACK.
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((settings.host, 0))
    port = sock.getsockname()[1]
    server = uvicorn.Server(uvicorn_config(create_app(rater, settings), settings))
    server.install_signal_handlers = lambda: None  # not the main thread
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True, name="flame-serve")
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            raise RuntimeError("the test server did not start")
        time.sleep(0.01)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=10)
        sock.close()
