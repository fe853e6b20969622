"""/v1/sessions: the stored sessions, the latest first, or those whose words match a search
(`SessionStore.search`: every word, the last as a prefix), each with the best-matching
words of it. The web page's session list searches through it as you type."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from rung.agent.sessions import MARK, SessionInfo

if TYPE_CHECKING:
    from rung.agent.daemon.host import Host

LIMIT = 50


def sessions_routes(host: Host) -> list[Route]:
    async def sessions(request: Request) -> Response:
        text = request.query_params.get("q", "")
        try:
            limit = min(max(int(request.query_params.get("limit", LIMIT)), 1), 500)
        except ValueError:
            return JSONResponse({"error": "limit must be a number"}, status_code=400)
        if text.strip():
            found = [(f.session, f.snippet) for f in host.store.search(text, limit)]
        else:
            found = [(info, "") for info in host.store.list(limit)]
        return JSONResponse({"sessions": [_row(info, snippet) for info, snippet in found]})

    return [Route("/v1/sessions", sessions, methods=["GET"])]


def _row(info: SessionInfo, snippet: str) -> dict[str, Any]:
    return {
        "id": info.id,
        "title": info.title,
        "updated_at": info.updated_at.isoformat(),
        "turns": info.turns,
        "model": info.model,
        "snippet": snippet,
    }


def sessions_paths() -> dict[str, Any]:
    return {
        "/v1/sessions": {
            "get": {
                "summary": "The stored sessions, the latest first; with q, those whose "
                "messages hold every word of q (the last as a prefix), the best first, each "
                f"with a snippet where U+{ord(MARK[0]):04X} and U+{ord(MARK[1]):04X} "
                "enclose each matched word",
                "parameters": [
                    {"name": "q", "in": "query", "schema": {"type": "string"}},
                    {"name": "limit", "in": "query", "schema": {"type": "integer"}},
                ],
                "responses": {
                    "200": {
                        "description": "the sessions",
                        "content": {"application/json": {"schema": {"type": "object"}}},
                    },
                    "400": {"description": "a limit that is not a number"},
                    "401": {"description": "no token, or a wrong one"},
                },
            }
        }
    }
