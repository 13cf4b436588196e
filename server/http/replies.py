"""What every HTTP API route shares: JSON replies, errors answered as JSON, JSON bodies."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any, TypeVar

import msgspec
from quart import Response, request

if TYPE_CHECKING:
    from quart_trio import QuartTrio

T = TypeVar("T")


class HttpError(Exception):
    """An HTTP API error, answered as ``{"error": code, "message": ...}``."""

    def __init__(
        self, status: int, code: str, message: str, retry_after: float | None = None
    ) -> None:
        super().__init__(message)
        self.status, self.code, self.message = status, code, message
        self.retry_after = retry_after


def json_response(data: Any, status: int = 200) -> Response:
    """A JSON body with its content type."""
    return Response(json.dumps(data), status=status, content_type="application/json")


def invalid_field(exc: msgspec.MsgspecError) -> HttpError:
    """The 400 for a request whose body or query does not validate; the message names the
    field as the client wrote it (``$.`` is msgspec's root)."""
    return HttpError(400, "invalid_field", str(exc).replace("`$.", "`"))


async def read_json(kind: type[T]) -> T:
    """The request's JSON body as ``kind``; raises :func:`invalid_field`'s error."""
    try:
        return msgspec.json.decode(await request.get_data(), type=kind)
    except msgspec.MsgspecError as exc:
        raise invalid_field(exc) from None


def register(app: QuartTrio) -> None:
    """Answer every :class:`HttpError` that a route raises as its JSON body."""

    @app.errorhandler(HttpError)
    async def http_error(exc: HttpError) -> Response:
        response = json_response({"error": exc.code, "message": exc.message}, exc.status)
        if exc.retry_after is not None:
            response.headers["Retry-After"] = str(max(1, round(exc.retry_after + 0.5)))
        return response
