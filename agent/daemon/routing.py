"""What the API's routes share: reading a request's JSON body, and answering an error
(the route's own complaint, or the RungError a command met, with its hint and exit code)."""

from __future__ import annotations

from typing import Any

from pydantic import ValidationError
from starlette.requests import Request
from starlette.responses import JSONResponse

from rung.agent.daemon.wire import TurnFailed
from rung.config.errors import RungError
from rung.config.settings import Settings


class BadRequest(Exception):
    """The request's body is not what the route takes."""


async def read_body(request: Request) -> dict[str, Any]:
    try:
        body = await request.json()
    except ValueError:
        raise BadRequest("the body must be JSON") from None
    if not isinstance(body, dict):
        raise BadRequest("the body must be a JSON object")
    return body


def required(body: dict[str, Any], key: str) -> str:
    value = body.get(key)
    if not isinstance(value, str) or not value.strip():
        raise BadRequest(f"`{key}` must be a non-empty string")
    return value


def flag(body: dict[str, Any], key: str) -> bool:
    value = body.get(key, False)
    if not isinstance(value, bool):
        raise BadRequest(f"`{key}` must be true or false")
    return value


def settings_of(body: dict[str, Any]) -> Settings:
    """The client's settings (those it leaves out take their defaults)."""
    try:
        return Settings.model_validate(body.get("settings") or {})
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(part) for part in first["loc"])
        raise BadRequest(f"settings.{where}: {first['msg']}") from None


def refusal(status: int, message: str) -> JSONResponse:
    return JSONResponse({"error": message}, status_code=status)


def failure(status: int, exc: RungError) -> JSONResponse:
    said = TurnFailed.of(exc)
    return JSONResponse(
        {
            "error": said.message,
            "hint": said.hint,
            "exit_code": said.exit_code,
            "model": said.model,
        },
        status_code=status,
    )
