"""The backend's composition root: `uvicorn --factory backend.main:create_app`, or `create_app(settings)`."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager

from fastapi import FastAPI, Request, Response
from fastapi.responses import JSONResponse
from fastapi.staticfiles import StaticFiles
from redis.exceptions import RedisError
from sqlalchemy import text

from backend.api import api_router
from backend.console.router import CSP, STATIC
from backend.console.router import page_router as console_pages
from backend.core.config import Settings, get_settings
from backend.core.db import get_engine, session_factory
from backend.core.errors import install_handlers
from backend.core.limits import BodyLimit
from backend.core.logs import LogSettings, RequestIds, configure_logging
from backend.core.metrics import RequestMetrics, exposition
from backend.core.redis import get_redis
from backend.handoffs.wechat_kf import KfDesk
from backend.live.service import Overview
from backend.monitoring import DatabaseCollector
from platforms import log_masking
from platforms.wechat.client import WeChatClient


def create_app(settings: Settings | None = None, log_settings: LogSettings | None = None) -> FastAPI:
    log_masking.install()
    settings = settings or get_settings()
    log_settings = log_settings or LogSettings()
    if log_settings.log_format == "json":  # text: uvicorn's own set-up, as before
        configure_logging("backend", log_settings)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        engine = get_engine(settings.database_url)
        app.state.settings = settings
        app.state.engine = engine
        app.state.session_factory = session_factory(engine)
        app.state.redis = get_redis(settings.redis_url)
        app.state.metrics_database = DatabaseCollector(app.state.session_factory)
        app.state.live_overview = Overview(app.state.session_factory)
        app.state.kf_desk = None
        if settings.handoff_wechat_delivery == "wechat_kf":
            client = WeChatClient(
                settings.wechat_app_id, settings.wechat_app_secret, settings.wechat_api_base_url, app.state.redis
            )
            app.state.kf_desk = KfDesk(client)
        yield

    app = FastAPI(title="PowerDesk backend", version="0.1.0", lifespan=lifespan)
    app.add_middleware(BodyLimit, max_bytes=settings.backend_max_body_bytes)
    install_handlers(app)
    app.include_router(api_router, prefix="/api/v1")
    # Outermost first: the request id is set before the request is counted and handled.
    app.add_middleware(RequestMetrics, process="backend")
    app.add_middleware(RequestIds)

    @app.get("/metrics", tags=["health"], include_in_schema=False)
    def metrics() -> Response:
        """Prometheus metrics (docs/contracts.md); bound to 127.0.0.1 like the rest, never exposed."""
        body, content_type = exposition(app.state.metrics_database)
        return Response(body, media_type=content_type)

    app.include_router(console_pages)
    app.mount("/console/static", StaticFiles(directory=STATIC), name="console-static")

    @app.middleware("http")
    async def console_headers(request: Request, call_next: Callable[[Request], Awaitable[Response]]) -> Response:
        """The console's pages load nothing but what this backend serves, and are never framed."""
        response = await call_next(request)
        if request.url.path.startswith("/console"):
            response.headers["Content-Security-Policy"] = CSP
            response.headers["X-Content-Type-Options"] = "nosniff"
            response.headers["Referrer-Policy"] = "same-origin"
            response.headers["Cache-Control"] = "no-cache"
        return response

    @app.get("/health", tags=["health"])
    def health() -> JSONResponse:
        checks: dict[str, str] = {}
        try:
            with app.state.engine.connect() as conn:
                conn.execute(text("SELECT 1"))
            checks["database"] = "ok"
        except Exception as exc:  # noqa: BLE001 - health reports any failure
            checks["database"] = f"error: {type(exc).__name__}"
        try:
            app.state.redis.ping()
            checks["redis"] = "ok"
        except RedisError as exc:
            checks["redis"] = f"degraded: {type(exc).__name__}"
        status = 200 if checks["database"] == "ok" else 503
        return JSONResponse({"status": "ok" if status == 200 else "error", "checks": checks}, status)

    return app
