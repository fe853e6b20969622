"""The heartbeat: every `heartbeat_every` minutes inside `active_hours`, the daemon goes
through the user's checklist (`heartbeat.md` in the config folder) and says something only
when something needs them.

Cheap checks come first, and most beats end there, with no model call:

- the checklist is empty (blank lines, headings and <!-- comments --> only);
- today's budget (`heartbeat_budget_tokens`, `heartbeat_budget_cpu_s`) is spent: the
  heartbeat pauses until tomorrow, and says so once;
- nothing it watches changed since its last model call: the checklist, each file or folder
  it names by path (size and time of change; a folder's entries), and the date (so it looks
  at least once a day).

Otherwise the beat is a turn of the engine — the same `one_turn` as a job, unattended, with
the tools in `heartbeat_tools` and nothing else, not stored as a session — and then one
short call that must answer in JSON (Ollama's `format`): {"verdict": "ok" | "notify",
"message": …}. `ok` sends nothing and shows nowhere (no session, no inbox); `notify` posts
the message to the inbox and `heartbeat_notify`. Each beat that asks the model is a run in
the ledger (job "heartbeat"), claimed once for its slot, so its notification carries a run
id and `rung jobs history heartbeat` lists them."""

from __future__ import annotations

import asyncio
import logging
import os
import time
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from rung.agent.daemon.checklist import checklist_text, fingerprint, summary
from rung.agent.daemon.host import Host
from rung.agent.daemon.ledger import HEARTBEAT as NAME
from rung.agent.daemon.ledger import Ledger, Status
from rung.agent.daemon.notifier import Notifier
from rung.agent.daemon.schedule import Hours, occurrence_key
from rung.agent.daemon.unattended import TurnRecord, run_unattended
from rung.agent.messages import Message
from rung.config.errors import RungError

log = logging.getLogger(__name__)

VERDICT_SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {
        "verdict": {"type": "string", "enum": ["ok", "notify"]},
        "message": {"type": "string"},
    },
    "required": ["verdict", "message"],
}


class Heartbeat:
    def __init__(
        self,
        host: Host,
        ledger: Ledger,
        notifier: Notifier,
        *,
        clock: Callable[[], float],
        active: Hours | None,
    ) -> None:
        self.host = host
        self.ledger = ledger
        self.notifier = notifier
        self.clock = clock
        self.active = active
        self.next_beat: float | None = None
        self._lock = asyncio.Lock()  # one beat at a time

    @property
    def every_s(self) -> float:
        return self.host.settings.heartbeat_every * 60.0

    def day(self, now: float) -> str:
        zone = self.active.zone if self.active else UTC
        return datetime.fromtimestamp(now, UTC).astimezone(zone).date().isoformat()

    def following(self, now: float) -> float:
        """When the beat after `now` comes: the next slot inside the active hours."""
        every = self.every_s
        slot = (now // every + 1) * every
        if self.active is not None and not self.active.contains(slot):
            start = self.active.next_start(slot)
            slot = start if start % every == 0 else (start // every + 1) * every
        return slot

    async def serve(self) -> None:
        if self.every_s <= 0:
            return
        while True:
            self.next_beat = self.following(self.clock())
            await asyncio.sleep(max(0.0, min(self.next_beat - self.clock(), 60.0)))
            if self.clock() < self.next_beat:
                continue  # woke early (the cap, or a clock that moved): look again
            try:
                await self.beat(slot=self.next_beat)
            except RungError as exc:
                log.error("the heartbeat failed: %s", exc.message)

    async def beat(self, *, slot: float | None = None, forced: bool = False) -> dict[str, Any]:
        """One beat; what it did. `forced` (`rung heartbeat now`): even when nothing it
        watches changed (the budget still holds)."""
        async with self._lock:
            now = self.clock()
            outcome = await self._beat(now, slot if slot is not None else now, forced=forced)
            outcome.setdefault("at", now)
            return outcome

    async def _beat(self, now: float, slot: float, *, forced: bool) -> dict[str, Any]:
        settings = self.host.settings
        day = self.day(now)
        checklist = checklist_text(self.host.paths.heartbeat_file)
        if not checklist:
            return self._skipped(day, now, "the checklist is empty")
        spent = self.ledger.heartbeat_day(day)
        over = (
            spent.tokens >= settings.heartbeat_budget_tokens
            or spent.cpu_s >= settings.heartbeat_budget_cpu_s
        )
        if over:
            if not spent.paused_said:
                self.notifier.post(
                    NAME,
                    "Heartbeat paused until tomorrow",
                    f"Today's budget is spent ({spent.tokens} tokens of "
                    f"{settings.heartbeat_budget_tokens}, {spent.cpu_s:.1f} CPU s of "
                    f"{settings.heartbeat_budget_cpu_s:g}). It goes on tomorrow; raise "
                    "heartbeat_budget_tokens or heartbeat_budget_cpu_s for more.",
                    run_id=None,
                )
            return self._skipped(day, now, "today's budget is spent", paused_said=True)
        print_ = fingerprint(checklist, day)
        if not forced and print_ == self.ledger.heartbeat_fingerprint():
            return self._skipped(day, now, "nothing it watches changed")
        key = occurrence_key(datetime.fromtimestamp(slot, UTC))
        if forced:
            key = f"now {key}"
        run_id = self.ledger.claim_running(NAME, key, now, os.getpid())
        if run_id is None:
            return self._skipped(day, now, "this beat ran already")
        return await self._ask(run_id, day, checklist, print_)

    def _skipped(
        self, day: str, now: float, why: str, *, paused_said: bool = False
    ) -> dict[str, Any]:
        outcome = {"outcome": "skipped", "why": why, "at": now}
        self.ledger.heartbeat_note(day, outcome, asked=False, paused_said=paused_said)
        return outcome

    async def _ask(self, run_id: int, day: str, checklist: str, print_: str) -> dict[str, Any]:
        from rung.agent.ollama_model import OllamaChatModel

        settings = self.host.settings
        started_cpu = time.process_time()
        looked = await self._look(checklist)
        findings, calls, error, tokens = looked.answer, looked.calls, looked.error, looked.tokens
        verdict: dict[str, Any] = {}
        if not error:
            model = OllamaChatModel.from_settings(settings)
            try:
                verdict, usage = await model.structured(
                    _verdict_prompt(checklist, findings), VERDICT_SCHEMA
                )
                tokens += usage.prompt_tokens + usage.completion_tokens
            except RungError as exc:
                error = exc.message
            finally:
                await model.aclose()
        if not error and verdict.get("verdict") not in ("ok", "notify"):
            error = f"the model's verdict is not ok or notify: {verdict!r}"
        cpu = time.process_time() - started_cpu
        message = str(verdict.get("message") or "").strip()
        status: Status = "failed" if error else "ok"
        outcome = {
            "outcome": "failed" if error else verdict["verdict"],
            "run": run_id,
            "tokens": tokens,
            "cpu_s": round(cpu, 3),
            **({"why": error} if error else {}),
        }
        self.ledger.finish(
            run_id,
            status,
            now=self.clock(),
            answer=message if outcome["outcome"] == "notify" else "",
            calls=calls,
            error=error,
        )
        self.ledger.heartbeat_note(
            day,
            outcome,
            asked=True,
            tokens=tokens,
            cpu_s=cpu,
            fingerprint=None if error else print_,
        )
        if outcome["outcome"] == "notify":
            self.notifier.post(
                NAME,
                "Heartbeat",
                message or findings,
                run_id=run_id,
                sinks=settings.heartbeat_notify,
            )
        log.info("heartbeat: %s (%d tokens)", outcome["outcome"], tokens)
        return outcome

    async def _look(self, checklist: str) -> TurnRecord:
        """The engine's turn over the checklist, unattended and not stored."""
        settings = self.host.settings
        question = (
            "[Heartbeat: a check the daemon runs on its own; no one is watching, no one can "
            "approve a tool call. Go through this checklist, using your tools where they "
            "help, and say briefly what, if anything, needs the user's attention now.]\n\n"
            + checklist
        )
        record = TurnRecord()
        async for _ in run_unattended(
            self.host,
            settings,
            question,
            record,
            grants=tuple(settings.heartbeat_tools),
            owner="the heartbeat",
            store=None,
        ):
            pass
        return record

    def status(self) -> dict[str, Any]:
        today = self.ledger.heartbeat_day(self.day(self.clock()))
        return summary(self.host.settings, self.host.paths.heartbeat_file, today, self.next_beat)


def _verdict_prompt(checklist: str, findings: str) -> list[Message]:
    return [
        Message(
            "system",
            "You decide whether to interrupt the user. Answer only with the JSON asked for.",
        ),
        Message(
            "user",
            f"The user's checklist:\n{checklist}\n\nWhat was found just now:\n"
            f"{findings or '(nothing)'}\n\nIf nothing needs the user's attention now, answer "
            '{"verdict": "ok", "message": ""}. Otherwise answer {"verdict": "notify", '
            '"message": "…"} with one or two sentences for the user.',
        ),
    ]
