"""The micro-batcher: requests that arrive together share one rater call (one forward pass).

Items wait in one bounded queue. A single asyncio task takes the oldest item, waits until it is
``max_wait_s`` old or ``max_batch`` items are waiting, and hands the batch to one worker thread, which looks
the items up in the SQLite judgment cache (the one ``flame rate`` uses), judges the misses in one
``rater.judge`` call and stores them. Items that arrive while a call runs form the next batch at once.

Failure isolation:
* a rater call that raises is retried one request at a time, so only the request whose item breaks the
  model gets a 500;
* a rater call that outlives ``call_timeout_s`` fails its requests with `RaterTimeout` (504); its thread
  cannot be killed, so it is abandoned and a fresh worker thread serves the next batch. At most
  ``max_stuck_calls`` abandoned calls may still be running: at that many, new work is refused at once
  (`RaterStuck` → 503 with Retry-After) until one ends, since a hung model would otherwise gain a thread
  (and its memory) per batch, with no end;
* a full queue refuses new items at once (`QueueFull` → 503 with Retry-After) instead of letting latency
  grow without bound.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import logging
import threading
import time
from collections import deque
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from flame.serve.metrics import Metrics
from flame.serve.security import log_event
from flame.types import Example, Judgment


class QueueFull(Exception):
    """The queue holds ``max_queue`` items: the caller answers 503 with Retry-After."""


class RaterFailed(Exception):
    """The rater raised on this request's items (the message stays in the log, not the response)."""


class RaterTimeout(Exception):
    """The rater call carrying this request's items outlived the call timeout."""


class RaterStuck(Exception):
    """``max_stuck_calls`` timed-out rater calls are still running: the caller answers 503 with Retry-After."""


@dataclass
class Job:
    kind: str  # "judge": payload is an Example; "call": payload is a callable run on the worker thread
    payload: Any
    request: int
    future: asyncio.Future
    enqueued: float = field(default_factory=time.monotonic)
    rater: Any = None  # "judge": the rater variant to judge with (a request's explain mode); None: the rater


@dataclass
class JudgeResult:
    judgment: Judgment
    cached: bool


class MicroBatcher:
    def __init__(
        self,
        rater,
        *,
        max_batch: int = 32,
        max_wait_s: float = 0.01,
        max_queue: int = 1024,
        call_timeout_s: float = 60.0,
        max_stuck_calls: int = 4,
        cache: bool | str | Path = True,
        metrics: Metrics | None = None,
        logger: logging.Logger | None = None,
    ):
        # max_batch 0 would be a loop that never awaits (100% CPU, requests hang, SIGTERM unheard).
        _check_limit("max_batch", max_batch, 1, int)
        _check_limit("max_queue", max_queue, 1, int)
        _check_limit("max_stuck_calls", max_stuck_calls, 1, int)
        _check_limit("max_wait_s", max_wait_s, 0, float)
        _check_limit("call_timeout_s", call_timeout_s, 1e-9, float)
        self.rater = rater
        self.max_batch = max_batch
        self.max_wait_s = max_wait_s
        self.max_queue = max_queue
        self.call_timeout_s = call_timeout_s
        self.max_stuck_calls = max_stuck_calls
        self.metrics = metrics or Metrics()
        self.logger = logger or logging.getLogger("flame.serve")
        self._cache_path = self._resolve_cache(cache)
        self._rkey = None
        if self._cache_path is not None:
            from flame.raters.cache import rater_key

            self._rkey = rater_key(rater.cache_identity())
            bind = getattr(rater, "bind_cache", None)
            if bind is not None:  # a jury: its members' judgments go to the service's cache file too
                bind(self._cache_path)
        self._local = threading.local()
        self._pending: deque[Job] = deque()
        self._depth = 0  # items queued or in a rater call
        self._ids = itertools.count(1)
        self._executor = self._new_executor()
        self.abandoned_calls = 0  # every call that timed out, since the start
        self._stuck: set[asyncio.Future] = set()  # those whose thread is still running
        self._task: asyncio.Task | None = None
        self._wake: asyncio.Event | None = None

    def _resolve_cache(self, cache) -> Path | None:
        if cache is False or cache is None or not hasattr(self.rater, "cache_identity"):
            return None
        if cache is True:
            from flame.raters.cache import default_path

            return default_path()
        return Path(cache)

    @staticmethod
    def _new_executor() -> ThreadPoolExecutor:
        return ThreadPoolExecutor(max_workers=1, thread_name_prefix="flame-rater")

    @property
    def cache_path(self) -> Path | None:
        return self._cache_path

    @property
    def depth(self) -> int:
        return self._depth

    @property
    def stuck_calls(self) -> int:
        """Timed-out rater calls whose threads are still running."""
        return len(self._stuck)

    # ------------------------------------------------------------------------------ lifecycle
    async def start(self) -> None:
        self._wake = asyncio.Event()
        self._task = asyncio.create_task(self._loop(), name="flame-batcher")

    async def stop(self) -> None:
        if self._task:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        for job in self._pending:
            if not job.future.done():
                job.future.set_exception(RaterFailed("the server is shutting down"))
        self._pending.clear()
        self._executor.shutdown(wait=False, cancel_futures=True)

    # --------------------------------------------------------------------------------- submit
    def new_request(self) -> int:
        return next(self._ids)

    def submit(
        self, kind: str, payloads: Sequence[Any], request: int, rater: Any = None
    ) -> list[asyncio.Future]:
        """Queue a request's items (all or none); returns one future per item."""
        if len(self._stuck) >= self.max_stuck_calls:
            raise RaterStuck(self._stuck_message())
        if self._depth + len(payloads) > self.max_queue:
            raise QueueFull(f"{self._depth} items are waiting (limit {self.max_queue})")
        loop = asyncio.get_running_loop()
        futures = []
        for p in payloads:
            fut = loop.create_future()
            self._pending.append(Job(kind, p, request, fut, rater=rater))
            futures.append(fut)
        self._depth += len(payloads)
        self._set_depth()
        self._wake.set()
        return futures

    async def judge(
        self, examples: Sequence[Example], request: int | None = None, rater: Any = None
    ) -> list[JudgeResult]:
        """``rater``: a variant of the rater (``rater.with_explain``) sharing its model; its judgments are
        cached under its own identity, and it runs on the same worker thread, in turn with the batches."""
        futures = self.submit("judge", examples, request or self.new_request(), rater)
        return await _gather_or_cancel(futures)

    async def rewards(self, pairs: Sequence[tuple[str, str]], request: int | None = None) -> list[float]:
        """Reward-head scores of (prompt, response) pairs, batched like judgments (``rater.reward_scores``)."""
        futures = self.submit("reward", pairs, request or self.new_request())
        return await _gather_or_cancel(futures)

    async def call(self, fn: Callable[[], Any], request: int | None = None) -> Any:
        """Run ``fn`` on the rater's worker thread, in turn with the batches (it shares the model)."""
        (fut,) = self.submit("call", [fn], request or self.new_request())
        return (await _gather_or_cancel([fut]))[0]

    def _set_depth(self) -> None:
        with self.metrics.lock:
            self.metrics.queue_depth.set(self._depth)

    # ----------------------------------------------------------------------------------- loop
    async def _loop(self) -> None:
        loop = asyncio.get_running_loop()
        while True:
            while not self._pending:
                self._wake.clear()
                await self._wake.wait()
            # Bounded wait: the oldest item waits at most max_wait_s for company.
            while len(self._pending) < self.max_batch:
                remaining = self._pending[0].enqueued + self.max_wait_s - time.monotonic()
                if remaining <= 0:
                    break
                self._wake.clear()
                try:
                    await asyncio.wait_for(self._wake.wait(), remaining)
                except TimeoutError:
                    break
            batch: list[Job] = []
            while self._pending and len(batch) < self.max_batch:
                job = self._pending.popleft()
                if job.future.done():  # the request timed out or its client left
                    self._release(1)
                    continue
                batch.append(job)
            if not batch:
                continue
            try:
                await self._execute(loop, batch)
            finally:
                self._release(len(batch))

    def _release(self, n: int) -> None:
        self._depth -= n
        self._set_depth()

    def _stuck_message(self) -> str:
        return (
            f"the rater is stuck: {len(self._stuck)} timed-out calls are still running "
            f"(limit {self.max_stuck_calls}); retry later"
        )

    def _call_ended(self, call: asyncio.Future) -> None:
        """An abandoned call's thread finished at last (on the event loop, via the future's callback)."""
        self._stuck.discard(call)
        if not call.cancelled():
            call.exception()  # retrieved: its requests were answered 504 long ago
        log_event(self.logger, "rater_call_ended_late", stuck_calls=len(self._stuck))

    async def _execute(self, loop, batch: list[Job]) -> None:
        if len(self._stuck) >= self.max_stuck_calls:
            # Queued before the limit was reached: refused too, rather than a thread that may hang as well.
            for job in batch:
                _settle(job.future, exc=RaterStuck(self._stuck_message()))
            return
        call = loop.run_in_executor(self._executor, self._process, batch)
        try:
            results = await asyncio.wait_for(asyncio.shield(call), self.call_timeout_s)
        except TimeoutError:
            self.abandoned_calls += 1
            self._stuck.add(call)
            call.add_done_callback(self._call_ended)
            with self.metrics.lock:
                self.metrics.rater_errors.inc("timeout")
            log_event(
                self.logger,
                "rater_timeout",
                logging.ERROR,
                items=len(batch),
                timeout_s=self.call_timeout_s,
                abandoned_calls=self.abandoned_calls,
                stuck_calls=len(self._stuck),
            )
            # The stuck thread cannot be stopped; a fresh one serves the next batches.
            self._executor.shutdown(wait=False)
            self._executor = self._new_executor()
            for job in batch:
                _settle(
                    job.future, exc=RaterTimeout(f"the rater did not answer within {self.call_timeout_s:g} s")
                )
            return
        except Exception as e:  # _process catches per job; this is a bug in the batcher itself
            log_event(self.logger, "batcher_error", logging.ERROR, exc_info=e)
            results = [RaterFailed("internal error")] * len(batch)
        for job, result in zip(batch, results, strict=True):
            if isinstance(result, BaseException):
                _settle(job.future, exc=result)
            else:
                _settle(job.future, result=result)

    # ------------------------------------------------------------------------- worker thread
    def _cache(self):
        db = getattr(self._local, "cache", None)
        if db is None and self._cache_path is not None:
            from flame.raters.cache import JudgmentCache

            # sqlite3 connections belong to their thread: one per worker thread.
            db = self._local.cache = JudgmentCache(self._cache_path)
        return db

    def _process(self, batch: list[Job]) -> list[Any]:
        out: list[Any] = [None] * len(batch)
        judge = [i for i, job in enumerate(batch) if job.kind == "judge"]
        if judge:
            for i, r in zip(judge, self._judge_jobs([batch[i] for i in judge]), strict=True):
                out[i] = r
        reward = [i for i, job in enumerate(batch) if job.kind == "reward"]
        if reward:
            for i, r in zip(reward, self._reward_jobs([batch[i] for i in reward]), strict=True):
                out[i] = r
        for i, job in enumerate(batch):
            if job.kind == "call":
                try:
                    out[i] = job.payload()
                except Exception as e:
                    out[i] = self._failure(e, 1)
        return out

    def _reward_jobs(self, jobs: list[Job]) -> list[Any]:
        """One ``reward_scores`` call for the batch; if it raises, once more per request (as `_rate`)."""
        with self.metrics.lock:
            self.metrics.items.inc("rater", by=len(jobs))
        groups = [jobs]
        try:
            return self._call_reward(jobs)
        except Exception as e:
            requests = sorted({job.request for job in jobs})
            if len(requests) == 1:
                return [self._failure(e, len(jobs))] * len(jobs)
            groups = [[job for job in jobs if job.request == r] for r in requests]
        out: dict[int, Any] = {}
        for part in groups:
            try:
                scores = self._call_reward(part)
            except Exception as e:
                scores = [self._failure(e, len(part))] * len(part)
            out.update({id(job): s for job, s in zip(part, scores, strict=True)})
        return [out[id(job)] for job in jobs]

    def _call_reward(self, jobs: list[Job]) -> list[float]:
        with self.metrics.lock:
            self.metrics.batch_size.observe(len(jobs))
        scores = [float(s) for s in self.rater.reward_scores([job.payload for job in jobs])]
        if len(scores) != len(jobs):
            raise RuntimeError(f"the rater returned {len(scores)} rewards for {len(jobs)} pairs")
        return scores

    def _judge_jobs(self, jobs: list[Job]) -> list[Any]:
        """Each rater variant's jobs as one group (one rater call per variant in a batch)."""
        variants: dict[int, list[int]] = {}
        for i, job in enumerate(jobs):
            variants.setdefault(id(job.rater), []).append(i)
        out: list[Any] = [None] * len(jobs)
        for members in variants.values():
            rater = jobs[members[0]].rater or self.rater
            for i, r in zip(members, self._judge_group(rater, [jobs[i] for i in members]), strict=True):
                out[i] = r
        return out

    def _variant_key(self, rater) -> str | None:
        if rater is self.rater or self._rkey is None:
            return self._rkey
        from flame.raters.cache import rater_key

        return rater_key(rater.cache_identity())

    def _judge_group(self, rater, jobs: list[Job]) -> list[Any]:
        from flame.raters.cache import example_key

        db = self._cache()
        rkey = self._variant_key(rater)
        keys = [example_key(rkey, job.payload) if db else str(i) for i, job in enumerate(jobs)]
        found = db.get_many(keys) if db else {}
        todo: dict[str, int] = {}  # key → first job index (duplicates in a batch are judged once)
        for i, k in enumerate(keys):
            if k not in found:
                todo.setdefault(k, i)
        n_hit = sum(1 for k in keys if k in found)
        with self.metrics.lock:
            self.metrics.cache_hits.inc(by=n_hit)
            self.metrics.cache_misses.inc(by=len(keys) - n_hit)
            self.metrics.items.inc("cache", by=n_hit)
            self.metrics.items.inc("rater", by=len(keys) - n_hit)
        judged: dict[str, Any] = {}
        if todo:
            judged = self._rate(rater, rkey, [(k, jobs[i]) for k, i in todo.items()], db)
        results = []
        for k in keys:
            if k in found:
                results.append(JudgeResult(found[k], cached=True))
            elif isinstance(judged[k], BaseException):
                results.append(judged[k])
            else:
                results.append(JudgeResult(judged[k], cached=False))
        return results

    def _rate(self, rater, rkey, todo: list[tuple[str, Job]], db) -> dict[str, Any]:
        """Judge in one call; if it raises, once more per request, so one bad request fails alone."""
        try:
            return self._call_rater(rater, rkey, todo, db)
        except Exception as e:
            requests = sorted({job.request for _, job in todo})
            if len(requests) == 1:
                return {k: self._failure(e, len(todo)) for k, _ in todo}
            log_event(
                self.logger,
                "rater_batch_failed_retrying",
                logging.WARNING,
                items=len(todo),
                error=type(e).__name__,
            )
        out: dict[str, Any] = {}
        for r in requests:
            part = [(k, job) for k, job in todo if job.request == r]
            try:
                out.update(self._call_rater(rater, rkey, part, db))
            except Exception as e:
                out.update({k: self._failure(e, len(part)) for k, _ in part})
        return out

    def _call_rater(self, rater, rkey, todo: list[tuple[str, Job]], db) -> dict[str, Judgment]:
        with self.metrics.lock:
            self.metrics.batch_size.observe(len(todo))
        judgments = rater.judge([job.payload for _, job in todo])
        if len(judgments) != len(todo):
            raise RuntimeError(f"the rater returned {len(judgments)} judgments for {len(todo)} examples")
        if db is not None:
            if rkey != self._rkey:
                db.register(rkey, rater.cache_identity())
            db.put_many(rkey, [(k, j) for (k, _), j in zip(todo, judgments, strict=True)])
        return {k: j for (k, _), j in zip(todo, judgments, strict=True)}

    def _failure(self, e: Exception, n: int) -> RaterFailed:
        with self.metrics.lock:
            self.metrics.rater_errors.inc("exception")
        log_event(self.logger, "rater_error", logging.ERROR, exc_info=e, items=n)
        return RaterFailed(type(e).__name__)


def _check_limit(name: str, value: Any, low: float, kind: type) -> None:
    number = int if kind is int else int | float
    if isinstance(value, bool) or not isinstance(value, number) or not low <= value < float("inf"):
        raise ValueError(
            f"{name} must be {'an integer' if kind is int else 'a number'} >= {low:g}, not {value!r}"
        )


def _settle(fut: asyncio.Future, result: Any = None, exc: BaseException | None = None) -> None:
    if fut.done():
        return
    if exc is not None:
        fut.set_exception(exc)
    else:
        fut.set_result(result)


async def _gather_or_cancel(futures: list[asyncio.Future]) -> list[Any]:
    """Wait for every future; if the wait is cancelled (request timeout), cancel the queued ones too."""
    try:
        return list(await asyncio.gather(*futures))
    except BaseException:
        for f in futures:
            if not f.done():
                f.cancel()
            elif not f.cancelled():
                f.exception()  # mark retrieved: no "exception was never retrieved" noise
        raise
