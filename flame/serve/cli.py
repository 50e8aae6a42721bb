"""``flame serve``: the rating service on one rater. The lead wires it with ``serve_cli.register(sub)``."""

from __future__ import annotations

import argparse
import sys

from flame.cliargs import (
    NON_NEGATIVE_INT,
    PORT,
    POSITIVE_FLOAT,
    POSITIVE_INT,
    TOKEN_BUDGET,
    add_explain_argument,
    float_range,
)


def register(subparsers) -> argparse.ArgumentParser:
    p = subparsers.add_parser(
        "serve",
        help=(
            "serve a rater over HTTP: /v1/judge, OpenAI-compatible /v1/chat/completions, OpenRLHF-compatible "
            "/get_reward, a web page"
        ),
        description=(
            "Serve a rater over HTTP (FastAPI + uvicorn). With no API key in FLAME_API_KEYS the server only "
            "binds loopback; clients send 'Authorization: Bearer KEY'."
        ),
    )
    p.add_argument(
        "--rater",
        default="smollm2",
        help="rater spec: smollm2, hf:PATH, run:DIR, openai:M@URL, length, random, fake",
    )
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=PORT, default=8080)
    p.add_argument("--swap", action="store_true", help="judge pairwise items in both orders and average")
    add_explain_argument(p)  # the service's default; a /v1/judge request's "explain" overrides it
    p.add_argument("--seed", type=NON_NEGATIVE_INT, default=None, help="tie-breaking seed of the rater")
    p.add_argument(
        "--batch-size", type=POSITIVE_INT, default=None, help="rows per forward pass inside the model rater"
    )
    p.add_argument("--max-length", type=TOKEN_BUDGET, default=None, help="token budget of a model rater")
    # Every limit below is checked again by `Settings` (the Python API), so neither path can build a
    # zero-sized batch (a busy loop) or a limit that refuses everything.
    p.add_argument("--max-batch", type=POSITIVE_INT, default=32, help="items per rater call (micro-batch)")
    p.add_argument(
        "--batch-wait-ms", type=float_range(0), default=10.0, help="how long a batch waits for more items"
    )
    p.add_argument(
        "--max-items",
        type=POSITIVE_INT,
        default=64,
        help="items per /v1/judge request (queries per /get_reward)",
    )
    p.add_argument("--max-body-bytes", type=POSITIVE_INT, default=2 * 1024 * 1024)
    p.add_argument(
        "--max-item-chars",
        type=POSITIVE_INT,
        default=100_000,
        help="characters of text per item (labels and guided_choice included; per /get_reward query)",
    )
    p.add_argument(
        "--max-queue", type=POSITIVE_INT, default=2048, help="queued items before 503 + Retry-After"
    )
    p.add_argument(
        "--timeout", type=POSITIVE_FLOAT, default=60.0, help="seconds a request waits for its judgments (504)"
    )
    p.add_argument(
        "--call-timeout", type=POSITIVE_FLOAT, default=120.0, help="seconds one rater call may take"
    )
    p.add_argument(
        "--max-stuck-calls",
        type=POSITIVE_INT,
        default=4,
        help="timed-out rater calls still running before new work gets 503 + Retry-After",
    )
    p.add_argument("--cache", default=None, help="judgment cache file (default: the one `flame rate` uses)")
    p.add_argument("--no-cache", action="store_true", help="judge every item, store nothing")
    p.add_argument("--reports", default=None, help="folder of `flame eval` reports to show on the page")
    p.add_argument("--log-texts", action="store_true", help="log the judged texts (off: logs carry no texts)")
    p.add_argument("--log-level", default="info", choices=["debug", "info", "warning", "error"])
    p.set_defaults(func=cmd_serve)
    return p


def settings_from_args(args, environ=None):
    from flame.serve.app import Settings

    cache: bool | str = False if args.no_cache else (args.cache or True)
    return Settings.from_env(
        environ,
        host=args.host,
        port=args.port,
        max_body_bytes=args.max_body_bytes,
        max_items=args.max_items,
        max_item_chars=args.max_item_chars,
        max_batch=args.max_batch,
        batch_wait_ms=args.batch_wait_ms,
        max_queue=args.max_queue,
        request_timeout_s=args.timeout,
        call_timeout_s=args.call_timeout,
        max_stuck_calls=args.max_stuck_calls,
        cache=cache,
        log_texts=args.log_texts,
        reports_dir=args.reports,
        log_level=args.log_level,
    )


def cmd_serve(args) -> int:
    from flame.serve.security import check_bind

    # A limit out of range raises SettingsError (the flags' types catch it first); both are one-line errors.
    settings = settings_from_args(args)
    # Before loading a model: a refused bind (BindError) should say so at once, not after a minute of loading.
    check_bind(settings.host, settings.api_keys)
    from flame.raters import load_rater

    rater = load_rater(
        args.rater,
        swap=args.swap,
        seed=args.seed,
        explain=args.explain,
        batch_size=args.batch_size,
        max_length=args.max_length,
    )
    from flame.serve.app import run_server

    print(
        f"flame serve: {rater.spec} on http://{settings.host}:{settings.port} "
        f"({'API keys required' if settings.api_keys else 'no API key: loopback only'})",
        file=sys.stderr,
    )
    try:
        run_server(rater, settings)
    except KeyboardInterrupt:  # uvicorn shuts down gracefully on SIGINT/SIGTERM, then re-raises the signal
        pass
    finally:
        rater.close()
    print("flame serve: stopped", file=sys.stderr)
    return 0
