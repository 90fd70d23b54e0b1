"""Domain errors with stable machine codes, their JSON rendering, and its OpenAPI documentation."""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel
from starlette.exceptions import HTTPException


class DomainError(Exception):
    """Base of every error a service raises on purpose; maps to one HTTP status."""

    status_code = 400
    code = "bad_request"

    def __init__(self, message: str, *, code: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        if code:
            self.code = code


class Forbidden(DomainError):
    status_code = 403
    code = "forbidden"


class NotFound(DomainError):
    status_code = 404
    code = "not_found"


class Conflict(DomainError):
    status_code = 409
    code = "conflict"


class Invalid(DomainError):
    status_code = 422
    code = "invalid"


class Unavailable(DomainError):
    status_code = 503
    code = "unavailable"


class ErrorRead(BaseModel):
    """The body of every error answer: a stable machine code, and a message for people."""

    code: str
    message: str


class FieldError(BaseModel):
    loc: list[str | int]
    msg: str
    type: str


class ValidationErrorRead(ErrorRead):
    #: with the code `validation_error`: what is wrong, field by field (absent for other codes)
    errors: list[FieldError] = []


ERROR_DESCRIPTIONS = {
    400: "`bad_request`: the body is not readable JSON",
    401: "`unauthorized`: the bearer token is missing or wrong",
    403: "The caller may not do this (`code` says why; `forbidden`: not with this role)",
    404: "Something the request names does not exist (`code` says what)",
    409: "The request conflicts with what is stored (`code` says how)",
    429: "Too many attempts (`code` says which); try again later",
    422: "`validation_error`: the request does not match this schema (`errors` says where); "
    "or another `code` for a request the data refuses",
    503: "A resource the request needs is exhausted or down (`code` says which)",
}


def error_responses(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """The OpenAPI `responses` entries of these error statuses, for a route or a router."""
    return {
        status: {
            "model": ValidationErrorRead if status == 422 else ErrorRead,
            "description": ERROR_DESCRIPTIONS[status],
        }
        for status in statuses
    }


def install_handlers(app: FastAPI) -> None:
    @app.exception_handler(DomainError)
    async def _domain(_: Request, exc: DomainError) -> JSONResponse:
        return JSONResponse({"code": exc.code, "message": exc.message}, status_code=exc.status_code)

    @app.exception_handler(RequestValidationError)
    async def _validation(_: Request, exc: RequestValidationError) -> JSONResponse:
        errors = [
            {"loc": list(e.get("loc", ())), "msg": e.get("msg", ""), "type": e.get("type", "")} for e in exc.errors()
        ]
        return JSONResponse(
            {"code": "validation_error", "message": "请求内容不符合要求", "errors": errors},
            status_code=422,
        )

    @app.exception_handler(HTTPException)
    async def _http(_: Request, exc: HTTPException) -> JSONResponse:
        code = {400: "bad_request", 401: "unauthorized", 403: "forbidden", 404: "not_found", 405: "method_not_allowed"}
        return JSONResponse(
            {"code": code.get(exc.status_code, f"http_{exc.status_code}"), "message": str(exc.detail)},
            status_code=exc.status_code,
            headers=getattr(exc, "headers", None),
        )
