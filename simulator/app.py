"""The simulator app: `uvicorn --factory simulator.app:create_app` (app env, port SIMULATOR_PORT).

Fake api.weixin.qq.com and qyapi.weixin.qq.com under `/cgi-bin` (and WeChat's customer-service
sessions under `/customservice`; point WECHAT_API_BASE_URL and WECOM_API_BASE_URL here), the
platforms' server side and the steering routes under `/sim`, the demo page at `/`. The fault
switch applies to every `/cgi-bin` call.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from pathlib import Path

import aiohttp
from fastapi import FastAPI, Request, Response
from fastapi.responses import FileResponse, JSONResponse

from backend.core.limits import BodyLimit
from backend.core.metrics import RequestMetrics, exposition
from platforms import log_masking
from simulator import console, sms_gateway, wechat_api, wechat_kf, wecom_api
from simulator.peer import CallbackPeer
from simulator.settings import SimulatorSettings
from simulator.state import PlatformState

PAGE = Path(__file__).parent / "static" / "index.html"


def create_app(settings: SimulatorSettings | None = None) -> FastAPI:
    log_masking.install()
    settings = settings or SimulatorSettings()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        async with aiohttp.ClientSession() as client:
            app.state.http = client
            yield
            for task in list(app.state.tasks):
                task.cancel()

    app = FastAPI(title="PowerDesk platform simulator", lifespan=lifespan)
    app.add_middleware(BodyLimit, max_bytes=4 * 1024 * 1024)  # photos are up to 2 MB
    app.state.settings = settings
    app.state.platform = PlatformState()
    app.state.platform.kf_accounts = wechat_kf.default_accounts(settings)
    app.state.tasks = set()
    app.state.wechat_peer = CallbackPeer(
        settings.wechat_webhook, settings.wechat_token, settings.wechat_aes_key, settings.wechat_app_id,
        envelope_to=settings.wechat_account, timeout=settings.delivery_timeout,
        attempts=settings.delivery_attempts,
    )  # fmt: skip
    app.state.wecom_peer = (
        CallbackPeer(
            settings.wecom_webhook,
            settings.wecom_token,
            settings.wecom_aes_key,
            settings.wecom_corp_id,
            enterprise=True,
            envelope_to=settings.wecom_corp_id,
            agent_id=settings.wecom_agent_id,
            timeout=settings.delivery_timeout,
            attempts=settings.delivery_attempts,
        )
        if settings.wecom_aes_key
        else None
    )

    @app.middleware("http")
    async def inject_faults(request: Request, call_next: Callable[[Request], Awaitable[Response]]) -> Response:
        state: PlatformState = request.app.state.platform
        fault = state.faults.take(request.url.path)
        if fault is not None:
            if fault.mode == "slow":
                await asyncio.sleep(fault.delay)
            elif fault.mode == "fail":
                return JSONResponse({"error": "simulated outage"}, status_code=503)
            elif fault.mode == "errcode":
                return JSONResponse({"errcode": fault.errcode, "errmsg": "simulated error"})
        return await call_next(request)

    app.include_router(wechat_api.router)
    app.include_router(wecom_api.router)
    app.include_router(wechat_kf.api_router)
    app.include_router(wechat_kf.sim_router)
    app.include_router(console.router)
    app.include_router(sms_gateway.router)

    app.add_middleware(RequestMetrics, process="simulator")

    @app.get("/health")
    def health() -> dict[str, str]:
        return {"status": "ok"}

    @app.get("/metrics", include_in_schema=False)
    def metrics() -> Response:
        """Prometheus metrics: the platform calls the simulator answered, by route and status."""
        body, content_type = exposition()
        return Response(body, media_type=content_type)

    @app.get("/", include_in_schema=False)
    def page() -> FileResponse:
        return FileResponse(PAGE, media_type="text/html; charset=utf-8")

    return app
