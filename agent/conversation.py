"""A conversation: the history of one session, the model, the tools, and where turns go.

`rung ask`, `rung chat` (and later the daemon) all drive turns through `Conversation.send`,
which fits the context, runs the loop, and writes each finished turn to the session
store in one transaction. A turn stopped by the user is kept, marked as interrupted.
The system message and the layout of each message come from `prompt`. With a `Recall`
(the assistant tier), the memories recalled for a message ride with it to the model (the
session store keeps the message as typed), and each finished turn goes on into the
conversations memory.
"""

from __future__ import annotations

import asyncio
import json
import math
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING

from rung.agent.compaction import (
    compactable,
    split,
    summarise,
    summary_messages,
    user_facts,
)
from rung.agent.context import CHARS_PER_TOKEN, estimate_tokens, fit_context, reply_reserve
from rung.agent.loop import run_turn
from rung.agent.messages import (
    FinalAnswer,
    LoopEvent,
    Message,
    Notice,
    Recalled,
    RecalledMemory,
    TextDelta,
    Usage,
)
from rung.agent.model import ChatModel
from rung.agent.phantom import phantom, worth_saving
from rung.agent.prompt import DEFAULT_PERSONA, join, turn_message
from rung.agent.sessions import SessionStore
from rung.config.errors import RungError, TurnTimeout, UserError
from rung.tools.base import ToolRegistry

if TYPE_CHECKING:
    from rung.agent.recall import Recall
    from rung.agent.tool_choice import ToolChooser
    from rung.memory.facts import Fact


TRUNCATED_AT = 0.97  # a prompt this close to num_ctx was cut by Ollama (Rung leaves room)
MAX_CALIBRATION = 4.0  # the estimate is never taken to be off by more (CJK text: ~3.5)


@dataclass
class TurnRecord:
    """What the last turn cost: shown by /usage and `rung ask --json`."""

    usage: Usage
    answer: str


class Conversation:
    def __init__(
        self,
        model: ChatModel,
        *,
        num_ctx: int,
        tier: str,
        max_steps: int = 12,
        tools: ToolRegistry | None = None,
        store: SessionStore | None = None,
        session_id: str | None = None,
        recall: Recall | None = None,
        chooser: ToolChooser | None = None,
        system: Callable[[], dict[str, str]] = lambda: {"persona": DEFAULT_PERSONA},
        clock: Callable[[], datetime] | None = None,
        compact_at: float | None = 0.8,
        turn_timeout: float | None = 600.0,
        tool_result_share: float = 0.25,
    ) -> None:
        self.model = model
        self.num_ctx = num_ctx
        self.tier = tier
        self.max_steps = max_steps
        self.tools = tools
        self.store = store
        self.session_id = session_id or SessionStore.new_id()
        self.recall = recall  # the assistant tier's memory
        self.chooser = chooser  # picks the tools to offer when there are many
        self.system = system  # the system message's parts, built each turn (see `prompt`)
        self.compact_at = compact_at  # share of num_ctx that triggers a compaction; None: never
        self.turn_timeout = turn_timeout  # seconds for a whole turn; None: no limit
        self.tool_result_share = tool_result_share  # of num_ctx, for one tool result
        self.calibration = 1.0  # Ollama's prompt tokens over Rung's estimate, once it was low
        self.clock = clock  # when set, each message is sent with the current time
        self.history: list[Message] = []
        self.last: TurnRecord | None = None
        self.recalled: tuple[RecalledMemory, ...] = ()  # the last turn's memories (/memory)
        self.compactions: list[tuple[int, int]] = []  # history tokens before and after each
        if store is not None and session_id is not None:
            self.history = store.messages(session_id)

    def new_session(self) -> None:
        self.session_id = SessionStore.new_id()
        self.history = []
        self.last = None
        self.recalled = ()

    def resume(self, session_id: str) -> None:
        if self.store is None:
            raise UserError("sessions are not stored in this conversation")
        info = self.store.get(session_id)
        self.session_id = info.id
        self.history = self.store.messages(info.id)
        self.last = None
        self.recalled = ()

    async def send(self, text: str) -> AsyncIterator[LoopEvent]:
        """One turn: yields the loop's events; the finished turn is stored before the end."""
        if not text.strip():
            raise UserError("the message is empty", hint="type a question, or /help")
        user = Message("user", text)
        if self.recall is not None:
            try:
                self.recalled = await asyncio.to_thread(self.recall.recall, text, self.session_id)
            except RungError as exc:  # the memory is busy or broken: answer without it
                self.recalled = ()
                yield Notice(f"Answering without memory this turn: {exc.message} ({exc.hint})")
            if self.recalled:
                yield Recalled(self.recalled)
        now = self.clock() if self.clock is not None else None
        sent = Message("user", turn_message(text, now=now, memories=self.recalled))
        tools = self.tools
        if tools is not None and self.chooser is not None and len(tools) > self.chooser.limit:
            tools = await asyncio.to_thread(self.chooser.view, tools, [*self.history, user])
        tool_tokens = self._tool_tokens(tools)
        system = Message("system", join(self.system()))  # reads persona, profile, facts
        # A message too large for any history is refused here, before compacting for it.
        fit_context([system, sent], self.num_ctx, extra_tokens=tool_tokens, scale=self.calibration)
        if self._would_fill(system, sent, tool_tokens):
            yield Notice(await self.compact())
            system = Message("system", join(self.system()))  # it may have added facts
        fitted = fit_context(
            [system, *self.history, sent],
            self.num_ctx,
            extra_tokens=tool_tokens,
            scale=self.calibration,
        )
        if fitted.dropped:
            yield Notice(
                f"Left out the {fitted.dropped} oldest messages of this conversation to fit "
                f"the context window (num_ctx={self.num_ctx}); the model does not see them."
            )
        partial: list[str] = []
        committed = False
        try:
            async for event in run_turn(
                self.model,
                fitted.messages,
                tools,
                max_steps=self.max_steps,
                max_result_chars=int(self.num_ctx * self.tool_result_share * CHARS_PER_TOKEN),
                timeout=self.turn_timeout,
                ranker=self.chooser.ranked if self.chooser is not None else None,
            ):
                if isinstance(event, TextDelta):
                    partial.append(event.text)
                elif isinstance(event, FinalAnswer):
                    self._commit(user, sent, event.new_messages)
                    committed = True
                    self.last = TurnRecord(event.usage, event.message.content)
                    last_request = [*fitted.messages, *event.new_messages[:-1]]
                    estimate = estimate_tokens(last_request) + tool_tokens
                    if lost := self._learn(estimate, event.usage.prompt_tokens):
                        yield Notice(lost)
                    if phantom(event.message.content, event.new_messages):
                        yield Notice(await self._phantom(text))
                elif not isinstance(event, Notice):
                    partial.clear()  # text before a tool call belongs to that step
                yield event
        except (asyncio.CancelledError, KeyboardInterrupt, TurnTimeout):
            if not committed:  # stopped after the answer was stored: nothing more to keep
                stopped = Message("assistant", "".join(partial), interrupted=True)
                self._commit(user, sent, [stopped])
            raise

    def _would_fill(self, system: Message, sent: Message, tool_tokens: int) -> bool:
        """Compact before the prompt passes `compact_at` of the window, and always before
        fitting it would have to leave turns out (their facts unsaved)."""
        if self.compact_at is None:
            return False
        tokens = (estimate_tokens([system, *self.history, sent]) + tool_tokens) * self.calibration
        limit = min(self.compact_at * self.num_ctx, self.num_ctx - reply_reserve(self.num_ctx))
        return tokens > limit and compactable(split(self.history).old)

    async def compact(self) -> str:
        """Replace the turns before the last few by a summary, after saving what matters;
        says what was done."""
        parts = split(self.history)
        if not parts.old:
            return "Nothing to compact yet: the conversation is only a few turns long."
        if not compactable(parts.old):
            return "Nothing to compact yet: only the last few turns are new since the last one."
        before = estimate_tokens(self.history)
        facts = user_facts(parts.old)
        summary = await summarise(self.model, parts.old, self.num_ctx)
        saved = ""
        if self.recall is not None:
            try:
                count = await asyncio.to_thread(
                    self.recall.keep, facts, summary, self.session_id, self.clock_time()
                )
                facts_saved = f"{count} fact{'' if count == 1 else 's'}"
                saved = f"; saved {facts_saved} and the summary to memory first"
            except RungError as exc:
                saved = f"; could not save to memory ({exc.message}), the session keeps it all"
        self.history = [*summary_messages(summary), *parts.recent]
        after = estimate_tokens(self.history)
        self.compactions.append((before, after))
        return (
            f"Compacted {len(parts.old)} earlier messages into a summary (about {before} → "
            f"{after} tokens of history){saved}. The session store keeps every turn."
        )

    def clock_time(self) -> float:
        return (self.clock() if self.clock is not None else datetime.now()).timestamp()

    async def _phantom(self, text: str) -> str:
        """The reply said it would remember and nothing did: do it (recall) or say so."""
        if self.recall is None:
            return (
                "The reply says it will remember, but nothing was saved: this tier has no "
                "memory of you. Use /tier assistant, or `rung memory facts add`."
            )
        fact = worth_saving(text)
        if fact is None:
            return (
                "The reply says it will remember, but nothing was saved (Rung saves a short "
                "statement about you, not this message). Say `remember that …`, or use "
                "`rung memory facts add`."
            )
        memory = self.recall.memory

        def save() -> Fact:
            with memory.lock:
                return memory.remember(fact, source="chat")[0]

        try:
            saved = await asyncio.to_thread(save)
        except RungError as exc:
            return f"The reply says it will remember, but saving failed: {exc.message}"
        return f"Rung saved it, as the reply promised: {saved.text} ({saved.id})"

    def _tool_tokens(self, tools: ToolRegistry | None) -> int:
        if not tools:
            return 0
        return int(len(json.dumps([s.to_ollama() for s in tools.specs()])) / CHARS_PER_TOKEN)

    def _learn(self, estimate: int, reported: int) -> str:
        """Check Rung's estimate of the last request against Ollama's prompt_eval_count.

        A count near the whole window means Ollama cut the prompt to fit: the user is told
        and Rung counts higher from now on. A count above the estimate raises the scale.
        A count below it proves nothing (Ollama does not count a prefix it had cached).
        """
        if not reported or not estimate:
            return ""
        if estimate * self.calibration > self.num_ctx:  # a step's tool results outgrew it
            return (
                f"The last request to the model (about {round(estimate * self.calibration)} "
                f"tokens with this turn's tool results) was larger than num_ctx="
                f"{self.num_ctx}: Ollama cut its start. Raise num_ctx, or ask for less at once."
            )
        if reported >= TRUNCATED_AT * self.num_ctx:
            # the true count is higher than the one reported: count higher, within reason
            self.calibration = min(
                max(self.calibration, 1.25 * reported / estimate), MAX_CALIBRATION
            )
            return (
                f"Ollama's prompt filled the whole window ({reported} of num_ctx="
                f"{self.num_ctx} tokens): the start of the conversation was probably cut. "
                "Rung counts tokens higher from now on; /context shows the budget."
            )
        if reported > estimate:
            self.calibration = min(max(self.calibration, reported / estimate), MAX_CALIBRATION)
        return ""

    def budget(self) -> list[tuple[str, int]]:
        """What the next request would hold, in (estimated) tokens: the system message's
        parts, the tools, the last turn's memories, the history, the reply's room, free."""
        scale = self.calibration

        def tokens(text: str) -> int:
            return math.ceil(len(text) / CHARS_PER_TOKEN * scale) if text else 0

        rows = [(name, tokens(text)) for name, text in self.system().items()]
        rows.append(("tools", math.ceil(self._tool_tokens(self.tools) * scale)))
        memories = "\n".join(m.text for m in self.recalled)
        rows.append(("memories", tokens(memories)))
        rows.append(("history", math.ceil(estimate_tokens(self.history) * scale)))
        rows.append(("reply", reply_reserve(self.num_ctx)))
        rows.append(("free", max(self.num_ctx - sum(n for _, n in rows), 0)))
        return rows

    def close(self) -> None:
        """Let go of the memory (turns not yet in it go in next time)."""
        if self.recall is not None:
            self.recall.close()

    def _commit(self, user: Message, sent: Message, rest: list[Message]) -> None:
        """The history keeps the message as sent (the model's view stays the same, and
        its cached prefix with it); the session store keeps it as typed."""
        self.history.extend([sent, *rest])
        if self.store is not None:
            self.store.add_turn(
                self.session_id, [user, *rest], model=self.model.name, tier=self.tier
            )
            if self.recall is not None:
                self.recall.record_soon()
