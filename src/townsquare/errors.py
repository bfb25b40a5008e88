"""One error hierarchy carrying its HTTP status, and the handler that renders it."""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException


class NulInBody(StarletteHTTPException):
    """A request body field holds what no field may (a NUL character, a lone surrogate, too deep a
    nesting); raised while the body streams in and answered 422."""

    def __init__(self, field: str, message: str = "contains a NUL character (U+0000)") -> None:
        super().__init__(422, f"invalid input: {field}")
        self.fields = [{"field": field, "message": message}]


class TownsquareError(Exception):
    """Base error: `status` is the HTTP status, `detail` is JSON-able context."""

    status = 400
    error = "bad_request"
    headers: dict[str, str] | None = None

    def __init__(self, message: str, detail: Any = None) -> None:
        super().__init__(message)
        self.message = message
        self.detail = detail


class Unauthorized(TownsquareError):
    status = 401
    error = "unauthorized"


class Forbidden(TownsquareError):
    status = 403
    error = "forbidden"


class NotFound(TownsquareError):
    status = 404
    error = "not_found"


class Conflict(TownsquareError):
    status = 409
    error = "conflict"


class Gone(TownsquareError):
    status = 410
    error = "gone"


class TooLarge(TownsquareError):
    status = 413
    error = "payload_too_large"


class Invalid(TownsquareError):
    status = 422
    error = "invalid"


class Unavailable(TownsquareError):
    status = 503
    error = "unavailable"


class TooManyRequests(TownsquareError):
    status = 429
    error = "rate_limited"

    def __init__(self, message: str, retry_after: int, detail: Any = None) -> None:
        super().__init__(message, detail)
        self.headers = {"Retry-After": str(retry_after)}


def error_body(error: str, message: str, detail: Any = None) -> dict[str, Any]:
    """The one JSON error shape: {"error", "message", "detail"}."""
    return {"error": error, "message": message, "detail": detail}


def _validation_detail(exc: RequestValidationError) -> list[dict[str, Any]]:
    out = []
    for err in exc.errors():
        if err.get("type") == "json_invalid":
            # The location of a JSON syntax error is a character offset, not a field.
            pos = [str(p) for p in err.get("loc", ())][1:]
            where = f" at character {pos[0]}" if pos else ""
            out.append({"field": "body", "message": f"{err.get('msg', 'invalid JSON')}{where}"})
            continue
        loc = [str(p) for p in err.get("loc", ())]
        if loc and loc[0] == "body":
            loc = loc[1:]
        out.append({"field": ".".join(loc) or "body", "message": err.get("msg", "invalid")})
    return out


def install_error_handlers(app: FastAPI) -> None:
    """Render every error as JSON with a clear status; never a traceback."""

    @app.exception_handler(TownsquareError)
    async def _ts(_: Request, exc: TownsquareError) -> JSONResponse:
        return JSONResponse(
            error_body(exc.error, exc.message, exc.detail), status_code=exc.status, headers=exc.headers
        )

    @app.exception_handler(RequestValidationError)
    async def _val(_: Request, exc: RequestValidationError) -> JSONResponse:
        detail = _validation_detail(exc)
        fields = ", ".join(d["field"] for d in detail[:5])
        return JSONResponse(error_body("invalid", f"invalid input: {fields}", detail), status_code=422)

    @app.exception_handler(StarletteHTTPException)
    async def _http(_: Request, exc: StarletteHTTPException) -> JSONResponse:
        if isinstance(exc, NulInBody):
            return JSONResponse(error_body("invalid", str(exc.detail), exc.fields), status_code=422)
        if exc.status_code == 400 and (
            isinstance(exc.__cause__, ValueError | RecursionError)
            or exc.detail == "There was an error parsing the body"
        ):
            # FastAPI answers 400 when a JSON body is not UTF-8 (or nests past the parser's recursion
            # limit); to clients it is malformed JSON (422).
            detail = [{"field": "body", "message": "the body is not valid UTF-8 JSON"}]
            return JSONResponse(error_body("invalid", "invalid input: body", detail), status_code=422)
        names = {401: "unauthorized", 404: "not_found", 405: "method_not_allowed", 413: "payload_too_large"}
        return JSONResponse(
            error_body(names.get(exc.status_code, "http_error"), str(exc.detail)),
            status_code=exc.status_code,
            headers=getattr(exc, "headers", None),
        )

    @app.exception_handler(Exception)
    async def _crash(_: Request, exc: Exception) -> JSONResponse:
        return JSONResponse(error_body("internal", "internal error; nothing was stored"), status_code=500)
