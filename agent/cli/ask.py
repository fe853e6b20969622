"""`rung ask`: one question, one answer, then exit."""

from __future__ import annotations

import asyncio
import json
import sys
from collections.abc import AsyncIterator, Sequence
from dataclasses import asdict
from typing import Any

from rung.agent.messages import (
    FinalAnswer,
    Notice,
    Recalled,
    RecalledMemory,
    TextDelta,
    ToolCallStarted,
    ToolResult,
    TurnBegun,
    TurnEvent,
)
from rung.agent.runtime import open_store
from rung.agent.turn import one_turn, started_tools
from rung.config.errors import UserError
from rung.config.settings import LoadedSettings, Settings


def read_question(words: Sequence[str]) -> str:
    if words:
        return " ".join(words)
    if sys.stdin is None or sys.stdin.isatty():
        raise UserError(
            "no question given", hint='rung ask "your question", or pipe text into rung ask'
        )
    raw = sys.stdin.buffer.read()
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise UserError(
            f"the input on stdin is not valid UTF-8 (byte 0x{raw[exc.start]:02x} "
            f"at offset {exc.start})",
            hint="convert it first, e.g. `iconv -f latin1 -t utf-8 file | rung ask`",
        ) from None


def run_ask(
    loaded: LoadedSettings,
    words: Sequence[str],
    *,
    as_json: bool,
    save: bool,
    local: bool = False,
) -> int:
    question = read_question(words)
    if not question.strip():
        raise UserError("the question is empty", hint='rung ask "your question"')
    return asyncio.run(_ask(loaded.settings, question, as_json=as_json, save=save, local=local))


async def _ask(settings: Settings, question: str, *, as_json: bool, save: bool, local: bool) -> int:
    """The turn runs in the daemon when one runs (and not `local`), else in this process;
    either way it is shown the same."""
    from rung.agent.cli.chat_tools import terminal_approver
    from rung.agent.daemon.client import running_daemon

    approver = terminal_approver(stderr=True)
    daemon = None if local else running_daemon()
    if daemon is not None:
        events = daemon.turn(question, settings, save=save, approver=approver)
        return await _show(events, as_json=as_json)
    store = open_store() if save else None
    try:
        turn = one_turn(settings, question, store=store, tools=started_tools(approver))
        return await _show(turn, as_json=as_json)
    finally:
        if store is not None:
            store.close()


async def _show(events: AsyncIterator[TurnEvent], *, as_json: bool) -> int:
    notices: list[str] = []  # every line text mode shows on stderr as [rung]: --json's too
    calls: list[dict[str, Any]] = []
    memories: tuple[RecalledMemory, ...] = ()
    begun: TurnBegun | None = None
    final: FinalAnswer | None = None
    async for event in events:
        if isinstance(event, TextDelta) and not as_json:
            sys.stdout.write(event.text)
            sys.stdout.flush()
        elif isinstance(event, ToolCallStarted) and not as_json:
            print(f"[tool] {event.call.name} {json.dumps(event.call.arguments)}", file=sys.stderr)
        elif isinstance(event, ToolResult):
            calls.append(
                {
                    "name": event.call.name,
                    "server": begun.servers.get(event.call.name) if begun else None,
                    "arguments": event.call.arguments,
                    "result": event.content,
                    "is_error": event.is_error,
                }
            )
        elif isinstance(event, Notice):
            notices.append(event.text)
            if not as_json:
                print(f"[rung] {event.text}", file=sys.stderr)
        elif isinstance(event, Recalled):
            memories = event.memories
            if not as_json:
                print(f"[memory] {event.summary}", file=sys.stderr)
                for m in memories:
                    print(f"[memory] [{m.tag}] {m.origin}: {_line(m.text)}", file=sys.stderr)
        elif isinstance(event, TurnBegun):
            begun = event
        elif isinstance(event, FinalAnswer):
            final = event
    assert begun is not None and final is not None
    if as_json:
        result = {
            "answer": final.message.content,
            "thinking": final.message.thinking,
            "model": begun.model,
            "tier": begun.tier,
            "session_id": begun.session_id,
            "tool_calls": calls,
            "notices": notices,
            "memories": [asdict(m) for m in memories],
            "usage": final.usage.to_dict(),
        }
        print(json.dumps(result, ensure_ascii=False, indent=2))
    elif not final.message.content.endswith("\n"):
        print()
    return 0


def _line(text: str, width: int = 100) -> str:
    line = " ".join(text.split())
    return line if len(line) <= width else line[: width - 1] + "…"
