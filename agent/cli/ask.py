"""`rung ask`: one question, one answer, then exit."""

from __future__ import annotations

import asyncio
import json
import sys
from collections.abc import Sequence
from dataclasses import asdict
from typing import TYPE_CHECKING, Any

from rung.agent.messages import (
    FinalAnswer,
    Notice,
    Recalled,
    RecalledMemory,
    TextDelta,
    ToolCallStarted,
    ToolResult,
)
from rung.agent.ollama_model import OllamaChatModel, capped_notice
from rung.agent.runtime import build_conversation, open_memory, open_store, tier_of
from rung.agent.tiers import Tier, tier_rules
from rung.config.errors import UserError
from rung.config.paths import Paths
from rung.config.settings import LoadedSettings

if TYPE_CHECKING:
    from rung.agent.conversation import Conversation
    from rung.tools.hub import ToolHub


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


def run_ask(loaded: LoadedSettings, words: Sequence[str], *, as_json: bool, save: bool) -> int:
    question = read_question(words)
    if not question.strip():
        raise UserError("the question is empty", hint='rung ask "your question"')
    return asyncio.run(_ask(loaded, question, as_json=as_json, save=save))


async def _ask(loaded: LoadedSettings, question: str, *, as_json: bool, save: bool) -> int:
    settings = loaded.settings
    model = OllamaChatModel.from_settings(settings)
    store = open_store() if save else None
    hub: ToolHub | None = None
    conversation: Conversation | None = None
    try:
        tier = tier_of(settings)
        await model.check(tools=tier.tools)
        conversation = build_conversation(settings, store=store, model=model)
        notices: list[str] = []  # every line text mode shows on stderr as [rung]: --json's too

        def notice(text: str) -> None:
            notices.append(text)
            if not as_json:
                print(f"[rung] {text}", file=sys.stderr)

        if model.capped_from is not None:
            notice(capped_notice(model))
        # The memory opens while the tool servers start; one that cannot (another Rung
        # process holds it) is said once, and the answer comes without it.
        memory = asyncio.ensure_future(open_memory(conversation, settings, Paths.default()))
        try:
            if tier.tools:
                hub, problems = await start_tools(tier)
                conversation.tools = hub
                for line in problems:
                    notice(line)
        finally:
            without_memory = await memory
        if without_memory:
            notice(without_memory)
        if conversation.recall is not None:
            conversation.recall.start()  # catches up on past turns in the background
        calls: list[dict[str, Any]] = []
        if tier.recall:
            from rung.agent.tool_check import weak_model_warning

            warning = weak_model_warning(Paths.default().state_dir, settings.model)
            if warning:
                notice(warning)
        memories: tuple[RecalledMemory, ...] = ()
        final: FinalAnswer | None = None
        async for event in conversation.send(question):
            if isinstance(event, TextDelta) and not as_json:
                sys.stdout.write(event.text)
                sys.stdout.flush()
            elif isinstance(event, ToolCallStarted) and not as_json:
                print(
                    f"[tool] {event.call.name} {json.dumps(event.call.arguments)}", file=sys.stderr
                )
            elif isinstance(event, ToolResult):
                calls.append(
                    {
                        "name": event.call.name,
                        "server": hub.tool_server(event.call.name) if hub else None,
                        "arguments": event.call.arguments,
                        "result": event.content,
                        "is_error": event.is_error,
                    }
                )
            elif isinstance(event, Notice):
                notice(event.text)
            elif isinstance(event, Recalled):
                memories = event.memories
                if not as_json:
                    print(f"[memory] {event.summary}", file=sys.stderr)
                    for m in memories:
                        print(f"[memory] [{m.tag}] {m.origin}: {_line(m.text)}", file=sys.stderr)
            elif isinstance(event, FinalAnswer):
                final = event
        assert final is not None
        if as_json:
            result = {
                "answer": final.message.content,
                "thinking": final.message.thinking,
                "model": settings.model,
                "tier": settings.tier,
                "session_id": conversation.session_id if save else None,
                "tool_calls": calls,
                "notices": notices,
                "memories": [asdict(m) for m in memories],
                "usage": final.usage.to_dict(),
            }
            print(json.dumps(result, ensure_ascii=False, indent=2))
        elif not final.message.content.endswith("\n"):
            print()
        return 0
    finally:
        if conversation is not None:
            conversation.close()
        if hub is not None:
            await hub.aclose()
        await model.aclose()
        if store is not None:
            store.close()


def _line(text: str, width: int = 100) -> str:
    line = " ".join(text.split())
    return line if len(line) <= width else line[: width - 1] + "…"


async def start_tools(tier: Tier) -> tuple[ToolHub, list[str]]:
    """Every enabled tool server, started and settled (ready or failed) before the question;
    and a line for each entry that was skipped, each server that failed, with why, and each
    server with tools blocked by their pins."""
    from rung.agent.cli.chat_tools import terminal_approver
    from rung.tools.catalog import open_hub

    paths = Paths.default()
    hub, problems = open_hub(
        paths.mcp_file,
        paths.server_logs,
        terminal_approver(stderr=True),
        use=tier.uses_server,
        rules=tier_rules(tier),
        audit=paths.audit_log,
    )
    await hub.start_and_wait()
    failures = [
        f"tool server {s.name} failed: {s.reason} (log: {s.log_path})"
        for s in hub.servers.values()
        if s.state != "ready"
    ]
    blocked = [line for s in hub.servers.values() if (line := s.pin_notice())]
    return hub, [*problems, *failures, *blocked]
