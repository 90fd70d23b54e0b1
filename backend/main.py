"""The backend's composition root: `uvicorn --factory backend.main:create_app`, or `create_app(settings)`."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI
from fastapi.responses import JSONResponse
from redis.exceptions import RedisError
from sqlalchemy import text

from backend.api import api_router
from backend.core.config import Settings, get_settings
from backend.core.db import get_engine, session_factory
from backend.core.errors import install_handlers
from backend.core.redis import get_redis


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = settings or get_settings()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        engine = get_engine(settings.database_url)
        app.state.settings = settings
        app.state.engine = engine
        app.state.session_factory = session_factory(engine)
        app.state.redis = get_redis(settings.redis_url)
        yield

    app = FastAPI(title="PowerDesk backend", version="0.1.0", lifespan=lifespan)
    install_handlers(app)
    app.include_router(api_router, prefix="/api/v1")

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
