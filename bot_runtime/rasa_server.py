"""The rasa server: `python -m bot_runtime.rasa_server --model M [--host H] [--port P]
[--endpoints E] [--credentials C] [--enable-rest]` (bot env, default 127.0.0.1:5005).

`rasa run --auth-token T` puts Rasa's HTTP API token on the command line (visible in `ps`) and
accepts it only as the `?token=` query parameter (kept by every proxy and access log). This
launcher starts the same server (Rasa's own `configure_app` and agent loading) with:

- `RASA_API_TOKEN` read from the environment (or `RASA_API_TOKEN_FILE`), at least 16 characters,
  required as `Authorization: Bearer <token>` on every route but the platforms' webhooks (WeChat,
  WeCom and SMS sign or guard their own, channels/), `/` and `/metrics`; a `token` query parameter
  is refused;
- `GET /metrics` (Prometheus: the channels' turns by outcome and their latency, the queue depth of
  the queue they consume; bot_runtime/metrics.py) open without the token, like `/`: every process
  listens on 127.0.0.1 and a scraper holds no secret (docs/contracts.md);
- Rasa's REST channel only with `--enable-rest` (for local use: `make run` and the end-to-end
  tests), and then behind the same token: it lets the caller speak as any sender;
- a body cap on every route (`RASA_MAX_BODY_BYTES`, default 1 MiB; Sanic's default is 100 MB),
  applied before the token check reads anything;
- Rasa's version checked against the one PowerDesk's patches of Rasa were written for, and the
  patches applied explicitly (bot_runtime/rasa_patches.py: the per-turn cost cuts, and a failed
  custom action failing its turn so that the channels keep and retry the message); on another Rasa
  version the launcher refuses to start;
- Rasa's Redis lock store (bot/endpoints.yml) pointed at the Redis of `REDIS_URL`: the launcher
  derives `PD_LOCK_REDIS_HOST`, `_PORT`, `_DB` and `_PASSWORD` from it (`lock_store_environment`),
  because Rasa's `type: redis` lock store takes a host and a port, not a URL.
"""

from __future__ import annotations

import argparse
import hmac
import logging
import os
from functools import partial
from pathlib import Path
from urllib.parse import unquote, urlsplit

import structlog
from rasa.core.channels.channel import InputChannel
from rasa.core.channels.rest import RestInput
from rasa.core.run import close_resources, configure_app, create_http_input_channels, load_agent_on_start
from rasa.core.utils import AvailableEndpoints
from sanic import Sanic, response
from sanic.request import Request
from sanic.response import HTTPResponse

from bot_runtime import metrics, rasa_patches
from bot_runtime._inbox import QueueInput
from bot_runtime.inbound_queue import InboundQueue
from platforms import log_masking
from platforms.settings import secret

logger = logging.getLogger(__name__)

DEFAULT_PORT = 5005
DEFAULT_MAX_BODY_BYTES = 1024 * 1024
MIN_TOKEN_CHARS = 16
#: routes that authenticate their callers themselves (signatures, provider secrets)
SELF_GUARDED = ("/webhooks/wechat/", "/webhooks/wecom/", "/webhooks/sms/")
#: routes open to anyone on the host: the health page and the metrics
OPEN = ("/", "/metrics")


def token_problem(request: Request, token: str) -> tuple[int, str] | None:
    """Why `request` may not pass (status, reason), or None."""
    if "token" in request.args:
        return 400, "send the API token in the Authorization header, never in the URL"
    if request.path in OPEN or request.path.startswith(SELF_GUARDED):
        return None
    scheme, _, given = request.headers.get("authorization", "").partition(" ")
    if scheme.lower() != "bearer" or not given:
        return 401, "API token required"
    if not hmac.compare_digest(given.strip().encode(), token.encode()):
        return 403, "API token refused"
    return None


def lock_store_environment(redis_url: str) -> dict[str, str]:
    """The variables bot/endpoints.yml's `lock_store` reads, from a `redis://` URL."""
    parts = urlsplit(redis_url)
    if parts.scheme != "redis" or not parts.hostname:
        raise ValueError("REDIS_URL must be a redis:// URL with a host for Rasa's lock store (no TLS, no socket)")
    database = parts.path.lstrip("/") or "0"
    if not database.isdigit():
        raise ValueError("REDIS_URL's database must be a number")
    return {
        "PD_LOCK_REDIS_HOST": parts.hostname,
        "PD_LOCK_REDIS_PORT": str(parts.port or 6379),
        "PD_LOCK_REDIS_DB": database,
        "PD_LOCK_REDIS_PASSWORD": unquote(parts.password or ""),
    }


def guard(app: Sanic, token: str, max_body: int) -> None:
    """The body cap and the token check on every route of `app`."""
    app.config.REQUEST_MAX_SIZE = max_body

    async def check(request: Request) -> HTTPResponse | None:
        problem = token_problem(request, token)
        if problem is None:
            return None
        logger.warning("rasa server refused %s %s from %s: %s", request.method, request.path, request.ip, problem[1])
        return response.json({"status": "failure", "reason": problem[1]}, status=problem[0])

    app.register_middleware(check, "request")


def serve_metrics(app: Sanic, channels: list[InputChannel]) -> None:
    """`GET /metrics`: this process's series, and the depth of the queue `channels` consume."""
    queue = metrics.QueueDepth(InboundQueue(), [c.name() for c in channels if isinstance(c, QueueInput)])

    @app.get("/metrics")
    async def scrape(_: Request) -> HTTPResponse:
        body, content_type = metrics.exposition(queue)
        return response.raw(body, content_type=content_type)


def configure_logs() -> None:
    """Every log line of the process through the standard library's logging, masked
    (platforms/log_masking.py). Rasa's structlog events too: left unconfigured, structlog prints
    them straight to stdout at every level, debug events with the bot's utterances (a worker's
    phone) included. Here they become log records from INFO up, rendered as JSON with the Chinese
    unescaped (an escaped "（" ends in a digit, which would hide the phone number next to it)."""
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    log_masking.install()
    structlog.configure(
        processors=[
            structlog.processors.add_log_level,
            structlog.processors.format_exc_info,
            structlog.processors.JSONRenderer(ensure_ascii=False),
        ],
        logger_factory=structlog.stdlib.LoggerFactory(),
        wrapper_class=structlog.make_filtering_bound_logger(logging.INFO),
        cache_logger_on_first_use=True,
    )


def main() -> None:
    parser = argparse.ArgumentParser(description="PowerDesk rasa server (Rasa 3.6, token from the environment)")
    parser.add_argument("--model", required=True)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=DEFAULT_PORT)
    parser.add_argument("--endpoints", default="bot/endpoints.yml")
    parser.add_argument("--credentials", default="bot/credentials.yml")
    parser.add_argument("--enable-rest", action="store_true", help="Rasa's REST channel, behind the API token")
    args = parser.parse_args()
    try:
        rasa_patches.require_supported_rasa()
    except rasa_patches.UnsupportedRasa as exc:
        raise SystemExit(f"rasa server not started: {exc}") from exc
    configure_logs()
    token = secret("RASA_API_TOKEN")
    if len(token) < MIN_TOKEN_CHARS:
        raise SystemExit(f"RASA_API_TOKEN must be set (at least {MIN_TOKEN_CHARS} characters)")
    rasa_patches.apply_all()

    channels = create_http_input_channels(None, args.credentials)
    if args.enable_rest:
        channels.append(RestInput())
    redis_url = os.environ.get("REDIS_URL", "")
    if redis_url:
        try:
            os.environ.update(lock_store_environment(redis_url))
        except ValueError as exc:
            raise SystemExit(f"rasa server not started: {exc}") from exc
    elif "PD_LOCK_REDIS_HOST" in Path(args.endpoints).read_text(encoding="utf-8"):
        raise SystemExit(f"rasa server not started: REDIS_URL must be set ({args.endpoints} keeps locks in Redis)")
    endpoints = AvailableEndpoints.read_endpoints(args.endpoints)
    app = configure_app(channels, auth_token=None, enable_api=True, port=args.port, endpoints=endpoints)
    guard(app, token, int(os.environ.get("RASA_MAX_BODY_BYTES") or DEFAULT_MAX_BODY_BYTES))
    serve_metrics(app, channels)
    app.register_listener(partial(load_agent_on_start, args.model, endpoints, None), "before_server_start")
    app.register_listener(close_resources, "after_server_stop")
    logger.info("rasa server on http://%s:%s (REST channel %s)", args.host, args.port,
                "on" if args.enable_rest else "off")  # fmt: skip
    app.run(host=args.host, port=args.port, workers=1, access_log=False)


if __name__ == "__main__":
    main()
