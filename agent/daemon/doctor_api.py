"""/v1/doctor: the checks of `rung doctor` (`rung.agent.doctor`), as the daemon runs them,
each finding a line of NDJSON as soon as it is found (the web page's Doctor page shows
them as they come).

Where the daemon differs from a terminal: the tool servers are the daemon's own (the
tier's warm hub, started if no turn has started it), and the daemon looks at itself
(its pid, the turns it served, its folder, socket and token) instead of asking."""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
from collections.abc import AsyncIterator
from dataclasses import asdict
from typing import TYPE_CHECKING, Any

from starlette.requests import Request
from starlette.responses import Response, StreamingResponse
from starlette.routing import Route

from rung.agent.daemon.routing import failure
from rung.agent.daemon.wire import NDJSON
from rung.agent.doctor import Doctor, Finding, daemon_finding
from rung.agent.tiers import Tier
from rung.config.errors import RungError
from rung.config.settings import LoadedSettings, load_settings

if TYPE_CHECKING:
    from rung.agent.daemon.host import Host
    from rung.tools.hub import ToolHub


class DaemonDoctor(Doctor):
    def __init__(self, host: Host, loaded: LoadedSettings, report: Any) -> None:
        super().__init__(loaded, host.paths, report)
        self.host = host

    @contextlib.asynccontextmanager
    async def tools(self, tier: Tier) -> AsyncIterator[tuple[ToolHub, list[str]]]:
        async with self.host.tools(tier) as (hub, problems):
            yield hub, problems

    def daemon(self) -> Finding:
        return daemon_finding(self.paths, os.getpid(), self.host.counters.served)


def doctor_routes(host: Host) -> list[Route]:
    async def doctor(request: Request) -> Response:
        # The settings this daemon runs with; where each came from, as the file says now.
        try:
            read = load_settings(host.paths.config_file)
        except RungError as exc:
            return failure(422, exc)
        loaded = LoadedSettings(host.settings, read.sources, read.config_file)
        found: asyncio.Queue[Finding | None] = asyncio.Queue()

        async def run() -> None:
            try:
                await DaemonDoctor(host, loaded, found.put_nowait).run()
            finally:
                found.put_nowait(None)

        async def lines() -> AsyncIterator[bytes]:
            task = asyncio.create_task(run())
            try:
                while (finding := await found.get()) is not None:
                    yield (json.dumps(asdict(finding)) + "\n").encode()
                await task  # its error, if it failed, ends the stream
            finally:
                task.cancel()

        return StreamingResponse(lines(), media_type=NDJSON)

    return [Route("/v1/doctor", doctor, methods=["GET"])]


def doctor_paths() -> dict[str, Any]:
    return {
        "/v1/doctor": {
            "get": {
                "summary": "The checks of `rung doctor`, as the daemon runs them: each "
                "finding a line of NDJSON ({check, status: ok|warn|fail, detail, hint}) as "
                "soon as it is found",
                "responses": {
                    "200": {
                        "description": "the findings",
                        "content": {NDJSON: {"schema": {"$ref": "#/components/schemas/Finding"}}},
                    },
                    "401": {"description": "no token, or a wrong one"},
                    "422": {"description": "config.toml cannot be read"},
                },
            }
        }
    }


FINDING_SCHEMA = {
    "type": "object",
    "properties": {
        "check": {"type": "string"},
        "status": {"enum": ["ok", "warn", "fail"]},
        "detail": {"type": "string"},
        "hint": {"type": "string"},
    },
    "required": ["check", "status", "detail", "hint"],
}
