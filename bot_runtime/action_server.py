"""The action server: `python -m bot_runtime.action_server [--host H] [--port P]` (bot env, :5055).

rasa_sdk's own server (`rasa run actions`) listens on 0.0.0.0, runs actions for whoever posts a
tracker (a forged `accounts` slot would open any customer's bill), inflates deflate bodies without
a limit and echoes the request body in its 500 answers. This launcher serves the same actions
(rasa_sdk's `ActionExecutor` over the `actions` package) with:

- 127.0.0.1 unless `--host` says otherwise;
- the rasa server's credential, `Authorization: Bearer <ACTION_SERVER_TOKEN>` (bot/endpoints.yml
  sends it), compared in constant time before a byte of the body is read: 401 without it, 403 with
  another; the webhook route streams, so nothing is buffered before this check;
- a body cap (`ACTION_SERVER_MAX_BODY_BYTES`, default 1 MiB) on the declared length and on what
  is read (413); a deflate body (Rasa sends one when `COMPRESS_ACTION_SERVER_REQUEST` is set) is
  inflated only up to the same cap; other encodings 415;
- answers that never carry the request: a short reason, and the action name where Rasa reads it;
- `GET /metrics` (Prometheus, open like `/health`: loopback only): each action run counted by
  action and outcome (`ok`, `rejected`, `unknown`, `failed`) and timed (bot_runtime/metrics.py).

When it stops, the conversation events still buffered (actions/outcomes.py) are sent once.
"""

from __future__ import annotations

import argparse
import hmac
import json
import logging
import os
import time
import zlib

from rasa_sdk.executor import ActionExecutor
from rasa_sdk.interfaces import ActionExecutionRejection, ActionNotFoundException
from sanic import Sanic, response
from sanic.request import Request
from sanic.response import HTTPResponse

from actions import outcomes
from bot_runtime import metrics
from bot_runtime._ack import read_capped
from platforms import log_masking
from platforms.settings import secret

logger = logging.getLogger(__name__)

DEFAULT_PORT = 5055
DEFAULT_MAX_BODY_BYTES = 1024 * 1024
MIN_TOKEN_CHARS = 16


def _refused(status: int, reason: str, request: Request) -> HTTPResponse:
    logger.warning("action server refused %s %s from %s: %s", request.method, request.path, request.ip, reason)
    return response.json({"error": reason}, status=status)


def _credential_problem(request: Request, token: str) -> tuple[int, str] | None:
    scheme, _, given = request.headers.get("authorization", "").partition(" ")
    if scheme.lower() != "bearer" or not given:
        return 401, "credential required"
    if not hmac.compare_digest(given.strip().encode(), token.encode()):
        return 403, "credential refused"
    return None


def _inflate(body: bytes, limit: int) -> bytes | None:
    """The deflated `body` inflated, or None when it would exceed `limit` (or is not deflate)."""
    inflater = zlib.decompressobj()
    try:
        data = inflater.decompress(body, limit + 1)
    except zlib.error:
        return None
    if len(data) > limit or inflater.unconsumed_tail:
        return None
    return data


def create_app(token: str, package: str = "actions", max_body: int = DEFAULT_MAX_BODY_BYTES) -> Sanic:
    if len(token) < MIN_TOKEN_CHARS:
        raise ValueError(f"ACTION_SERVER_TOKEN must be set (at least {MIN_TOKEN_CHARS} characters)")
    executor = ActionExecutor()
    executor.register_package(package)
    app = Sanic("powerdesk_actions", configure_logging=False)
    app.config.REQUEST_MAX_SIZE = max_body  # every route: nothing larger is ever read

    @app.after_server_stop
    async def send_buffered_events(_app: Sanic, _loop: object) -> None:
        await outcomes.batcher.close()

    @app.get("/health")
    async def health(_: Request) -> HTTPResponse:
        return response.json({"status": "ok"})

    @app.get("/metrics")
    async def scrape(_: Request) -> HTTPResponse:
        body, content_type = metrics.exposition()
        return response.raw(body, content_type=content_type)

    @app.get("/actions")
    async def actions(request: Request) -> HTTPResponse:
        problem = _credential_problem(request, token)
        if problem:
            return _refused(*problem, request)
        return response.json([{"name": name} for name in executor.actions])

    @app.post("/webhook", stream=True)
    async def webhook(request: Request) -> HTTPResponse:
        problem = _credential_problem(request, token)
        if problem:
            return _refused(*problem, request)
        body = await read_capped(request, max_body)
        if body is None:
            return _refused(413, "body too large", request)
        encoding = request.headers.get("content-encoding", "identity").lower()
        if encoding == "deflate":
            body = _inflate(body, max_body)
            if body is None:
                return _refused(413, "deflate body too large or corrupt", request)
        elif encoding != "identity":
            return _refused(415, "unsupported content encoding", request)
        try:
            call = json.loads(body)
        except (UnicodeDecodeError, ValueError):
            call = None
        if not isinstance(call, dict) or not isinstance(call.get("next_action"), str):
            return response.json({"error": "not an action call", "action_name": None}, status=400)
        name = call["next_action"]
        started, outcome = time.perf_counter(), "failed"
        try:
            result = await executor.run(call)
            outcome = "ok"
        except ActionExecutionRejection as exc:
            outcome = "rejected"
            return response.json({"error": exc.message, "action_name": exc.action_name}, status=400)
        except ActionNotFoundException as exc:
            logger.error("action %s is not registered", exc.action_name)
            outcome = "unknown"
            return response.json({"error": "unknown action", "action_name": exc.action_name}, status=404)
        except Exception:
            logger.exception("action %s failed", name)
            return response.json({"error": "action failed", "action_name": name}, status=500)
        finally:
            # an unregistered name is the caller's word: one label for all of them
            label = name if name in executor.actions else "unregistered"
            metrics.ACTION_RUNS.labels(label, outcome).inc()
            metrics.ACTION_SECONDS.labels(label).observe(time.perf_counter() - started)
        return response.json(result)

    @app.exception(Exception)
    async def failure(request: Request, exc: Exception) -> HTTPResponse:
        status = getattr(exc, "status_code", 500)
        if status >= 500:
            logger.error("action server error on %s: %s", request.path, type(exc).__name__)
        return response.json({"error": "request refused" if status < 500 else "server error"}, status=status)

    return app


def main() -> None:
    parser = argparse.ArgumentParser(description="PowerDesk action server (rasa_sdk actions, authenticated)")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=DEFAULT_PORT)
    parser.add_argument("--actions", default="actions", help="the package holding the actions")
    args = parser.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    log_masking.install()
    max_body = int(os.environ.get("ACTION_SERVER_MAX_BODY_BYTES") or DEFAULT_MAX_BODY_BYTES)
    app = create_app(secret("ACTION_SERVER_TOKEN"), args.actions, max_body)
    logger.info("action server on http://%s:%s", args.host, args.port)
    app.run(host=args.host, port=args.port, access_log=False, workers=1)


if __name__ == "__main__":
    main()
