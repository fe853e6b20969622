"""The chats' part of the API, /v1/chats: what `rung chat` does through the daemon.

A terminal opens a chat with its settings (POST /v1/chats), sends each message to
/v1/chats/{chat}/messages (the turn's events as NDJSON, as /v1/turns), runs its slash
commands on the chat (new, resume, model, tier, compact; the tools, prompts and resources
of the chat's tier), reads where the chat stands (GET), and closes it (DELETE). An error
a command meets comes back as {"error", "hint", "exit_code", "model"}, with HTTP 404 for an
unknown chat and 422 for the rest."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response, StreamingResponse
from starlette.routing import Route

from rung.agent.daemon.chats import Chats, DaemonChat, NoSuchChat
from rung.agent.daemon.host import Host
from rung.agent.daemon.routing import (
    BadRequest,
    failure,
    flag,
    read_body,
    refusal,
    required,
    settings_of,
)
from rung.agent.daemon.wire import NDJSON
from rung.config.errors import RungError
from rung.tools.views import to_dict

Handler = Callable[[DaemonChat, dict[str, Any]], Awaitable[dict[str, Any]]]


def chat_routes(host: Host, chats: Chats) -> list[Route]:
    async def open_chat(request: Request) -> Response:
        try:
            body = await read_body(request)
            # the web page chats with the daemon's own settings; a terminal sends its own
            settings = host.settings if flag(body, "daemon_settings") else settings_of(body)
        except BadRequest as exc:
            return refusal(400, f"not a chat: {exc}")
        chat = await chats.open(settings)
        return JSONResponse({"chat": chat.id, **await chats.status(chat)})

    async def messages(request: Request) -> Response:
        try:
            chat = chats.get(request.path_params["chat"])
            body = await read_body(request)
            text = required(body, "text")
            interactive = flag(body, "interactive")
        except BadRequest as exc:
            return refusal(400, str(exc))
        except NoSuchChat as exc:
            return failure(404, exc)
        events = host.stream(lambda: chats.events(chat, text), interactive=interactive)
        return StreamingResponse(events, media_type=NDJSON)

    async def status(chat: DaemonChat, body: dict[str, Any]) -> dict[str, Any]:
        return await chats.status(chat)

    async def close(request: Request) -> Response:
        await chats.close(request.path_params["chat"])
        return JSONResponse({"ok": True})

    async def memory(chat: DaemonChat, body: dict[str, Any]) -> dict[str, Any]:
        return {"line": await chat.session.memory_opened()}

    async def ready(chat: DaemonChat, body: dict[str, Any]) -> dict[str, Any]:
        return {"lines": await chat.session.ensure_ready()}

    async def stop(chat: DaemonChat, body: dict[str, Any]) -> dict[str, Any]:
        await chats.stop(chat)
        return {"stopped": True}

    async def new(chat: DaemonChat, body: dict[str, Any]) -> dict[str, Any]:
        await chat.session.new_session()
        return await chats.status(chat)

    async def resume(chat: DaemonChat, body: dict[str, Any]) -> dict[str, Any]:
        await chat.session.resume(required(body, "session"))
        return await chats.status(chat)

    async def model(chat: DaemonChat, body: dict[str, Any]) -> dict[str, Any]:
        await chat.session.use_model(required(body, "name"))
        return await chats.status(chat)

    async def tier(chat: DaemonChat, body: dict[str, Any]) -> dict[str, Any]:
        await chat.session.use_tier(required(body, "name"))
        return await chats.status(chat)

    async def compact(chat: DaemonChat, body: dict[str, Any]) -> dict[str, Any]:
        said = await chat.session.compact()
        return {"said": said, **await chats.status(chat)}

    async def tools(chat: DaemonChat, body: dict[str, Any]) -> dict[str, Any]:
        from rung.tools.views import server_views

        async with chats.tools(chat) as (hub, _):
            return {"servers": [to_dict(v) for v in server_views(hub)] if hub else None}

    async def prompts(chat: DaemonChat, body: dict[str, Any]) -> dict[str, Any]:
        async with chats.tools(chat) as (hub, _):
            found = await hub.prompts() if hub is not None else None
        return {"prompts": [[s, to_dict(p)] for s, p in found] if found is not None else None}

    async def prompt(chat: DaemonChat, body: dict[str, Any]) -> dict[str, Any]:
        from rung.tools.views import render_prompt

        typed = required(body, "typed")
        async with chats.tools(chat) as (hub, _):
            if hub is None:
                return {"text": None}
            return {"text": await render_prompt(hub, typed)}

    async def resources(chat: DaemonChat, body: dict[str, Any]) -> dict[str, Any]:
        async with chats.tools(chat) as (hub, _):
            found = await hub.resources() if hub is not None else None
        return {"resources": [[s, to_dict(r)] for s, r in found] if found is not None else None}

    async def resource(chat: DaemonChat, body: dict[str, Any]) -> dict[str, Any]:
        uri = required(body, "uri")
        async with chats.tools(chat) as (hub, _):
            return {"text": await hub.read_resource(uri) if hub is not None else None}

    def command(handler: Handler, *, busy: bool = True) -> Callable[[Request], Awaitable[Response]]:
        async def endpoint(request: Request) -> Response:
            try:
                chat = chats.get(request.path_params["chat"])
                body = await read_body(request) if request.method == "POST" else {}
                if busy:  # not while a turn of the chat runs
                    async with chat.busy:
                        return JSONResponse(await handler(chat, body))
                return JSONResponse(await handler(chat, body))
            except BadRequest as exc:
                return refusal(400, str(exc))
            except NoSuchChat as exc:
                return failure(404, exc)
            except RungError as exc:
                return failure(422, exc)

        return endpoint

    base = "/v1/chats/{chat}"
    return [
        Route("/v1/chats", open_chat, methods=["POST"]),
        Route(base, command(status, busy=False), methods=["GET"]),
        Route(base, close, methods=["DELETE"]),
        Route(f"{base}/messages", messages, methods=["POST"]),
        Route(f"{base}/memory", command(memory, busy=False), methods=["GET"]),
        Route(f"{base}/ready", command(ready), methods=["POST"]),
        Route(f"{base}/stop", command(stop, busy=False), methods=["POST"]),
        Route(f"{base}/new", command(new), methods=["POST"]),
        Route(f"{base}/resume", command(resume), methods=["POST"]),
        Route(f"{base}/model", command(model), methods=["POST"]),
        Route(f"{base}/tier", command(tier), methods=["POST"]),
        Route(f"{base}/compact", command(compact), methods=["POST"]),
        Route(f"{base}/tools", command(tools, busy=False), methods=["GET"]),
        Route(f"{base}/prompts", command(prompts, busy=False), methods=["GET"]),
        Route(f"{base}/prompt", command(prompt, busy=False), methods=["POST"]),
        Route(f"{base}/resources", command(resources, busy=False), methods=["GET"]),
        Route(f"{base}/resource", command(resource, busy=False), methods=["POST"]),
    ]


def chat_paths() -> dict[str, Any]:
    """The chats' routes, for the API's OpenAPI document."""
    state = {"$ref": "#/components/schemas/ChatState"}
    failed = {
        "description": "what the command met: error, hint, exit_code, model (set when the "
        "model is not pulled); 404 for an unknown chat",
        "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Failed"}}},
    }

    def operation(
        summary: str, body: dict[str, Any] | None = None, answer: dict[str, Any] = state
    ) -> dict[str, Any]:
        op: dict[str, Any] = {
            "summary": summary,
            "parameters": [
                {"name": "chat", "in": "path", "required": True, "schema": {"type": "string"}}
            ],
            "responses": {
                "200": {"description": "done", "content": {"application/json": {"schema": answer}}},
                "404": failed,
                "422": failed,
            },
        }
        if body is not None:
            op["requestBody"] = {
                "required": True,
                "content": {"application/json": {"schema": _object(body)}},
            }
        return op

    string = {"type": "string"}
    base = "/v1/chats/{chat}"
    open_chat = operation(
        "Open a chat with these settings (a new session; POST …/resume continues one)",
        {"settings": {"type": "object"}},
    )
    del open_chat["parameters"]
    messages = operation(
        "Send a message: the turn's events as NDJSON, as /v1/turns (closing the connection "
        "stops the turn)",
        {"text": string, "interactive": {"type": "boolean"}},
    )
    messages["responses"]["200"] = {
        "description": "the turn's events, one per line",
        "content": {NDJSON: {"schema": {"$ref": "#/components/schemas/Event"}}},
    }
    listed = {"type": ["array", "null"], "items": {"type": "array"}}
    return {
        "/v1/chats": {"post": open_chat},
        base: {
            "get": operation("Where the chat stands, and its tier's tools for the toolbar"),
            "delete": operation("Close the chat (its session stays stored)"),
        },
        f"{base}/messages": {"post": messages},
        f"{base}/memory": {
            "get": operation(
                "Once the chat's memory is open: the line that says it could not be",
                answer=_object({"line": {"type": ["string", "null"]}}),
            )
        },
        f"{base}/ready": {
            "post": operation(
                "Check the model (422 with `model` set when it is not pulled)",
                {},
                _object({"lines": {"type": "array", "items": string}}),
            )
        },
        f"{base}/stop": {
            "post": operation(
                "Stop the turn that runs (Ctrl-C): answers once what was said is kept",
                {},
                _object({"stopped": {"type": "boolean"}}),
            )
        },
        f"{base}/new": {"post": operation("Start a new session", {})},
        f"{base}/resume": {"post": operation("Continue a stored session", {"session": string})},
        f"{base}/model": {"post": operation("Switch the model", {"name": string})},
        f"{base}/tier": {"post": operation("Switch the tier", {"name": string})},
        f"{base}/compact": {"post": operation("Summarise the older turns now", {})},
        f"{base}/tools": {
            "get": operation(
                "The tier's tool servers, their state and tools (null: no tools in the tier)",
                answer=_object({"servers": {"type": ["array", "null"]}}),
            )
        },
        f"{base}/prompts": {
            "get": operation(
                "The MCP prompts on offer, as [server, prompt] pairs",
                answer=_object({"prompts": listed}),
            )
        },
        f"{base}/prompt": {
            "post": operation(
                "Render `/prompt NAME ARGS…` into the text to send",
                {"typed": string},
                _object({"text": {"type": ["string", "null"]}}),
            )
        },
        f"{base}/resources": {
            "get": operation(
                "The MCP resources listed, as [server, resource] pairs",
                answer=_object({"resources": listed}),
            )
        },
        f"{base}/resource": {
            "post": operation(
                "Read a resource (its text)",
                {"uri": string},
                _object({"text": {"type": ["string", "null"]}}),
            )
        },
    }


def chat_schemas() -> dict[str, Any]:
    return {
        "ChatState": {
            "type": "object",
            "description": "session_id, model, tier, turns, last_answer, num_ctx, "
            "calibration, budget, recall, recalled, last_usage, last_reply, and tools "
            "({count, states} of the tier's servers, or null)",
        },
        "Failed": _object(
            {
                "error": {"type": "string"},
                "hint": {"type": "string"},
                "exit_code": {"type": "integer"},
                "model": {"type": "string"},
            }
        ),
    }


def _object(properties: dict[str, Any]) -> dict[str, Any]:
    return {"type": "object", "properties": properties}
