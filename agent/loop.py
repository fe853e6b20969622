"""The tool-use loop: model -> tool calls -> results -> model, until a final answer.

One turn reads top to bottom: stream a model step; if it asked for no tools, that is the
answer; otherwise run its calls (concurrently), hand the results back, and step again.
A call the model wrote as text instead of making it is run too, or corrected once
(`tool_text`) — unless its arguments are made up or, before any tool ran, its tool is far
from what the user asked (`restraint`) — and every call's arguments are checked against
its tool's schema first, fixed where that is safe, refused with what was wrong where not
(`call_check`). A request that lists values for one argument ("in Oslo and in Bergen")
gets a call for each where the model wrote one (`fan_out`); a model that makes a call again
after its result is told, once, the rest of the request in the user's words (`remainder`).
After ``max_steps`` the model is asked to answer without tools. Policies live elsewhere:
`ToolRegistry` validates and runs calls, `run_tool_calls` turns failures into results.

What tools return goes back marked as untrusted data (`prompt.untrusted`), cut to
``max_result_chars``; once any untrusted content is in the context, each call carries a
`Taint`, and the hub gates the calls that could act on it. The whole turn, model steps and
tool calls alike, ends at ``timeout`` seconds.
"""

from __future__ import annotations

import asyncio
import contextlib
import difflib
from collections.abc import AsyncGenerator, AsyncIterator, Awaitable, Callable, Collection, Sequence
from dataclasses import dataclass, field, replace
from typing import Any, TypeVar

from rung.agent.call_check import check_calls
from rung.agent.fan_out import fanned
from rung.agent.messages import (
    TOOL_ERROR,
    FinalAnswer,
    LoopEvent,
    Message,
    ModelDone,
    Notice,
    TextDelta,
    ToolCall,
    ToolCallStarted,
    ToolResult,
    ToolSpec,
    Usage,
    dumps_arguments,
)
from rung.agent.model import ChatModel
from rung.agent.prompt import (
    Unframing,
    drop_echo,
    typed_text,
    unframed,
    unmarked,
    untrusted,
    untrusted_blocks,
)
from rung.agent.remainder import remainder
from rung.agent.restraint import FITTING, strays, weigh
from rung.agent.tool_text import CORRECTION_LEAD, HoldBack, not_an_answer, renamed, rescue
from rung.config.errors import ApprovalDenied, ModelResponseError, ToolFailed, TurnTimeout
from rung.tools.approvals import FETCH, Taint, named_hosts, words
from rung.tools.base import ToolRegistry

T = TypeVar("T")
# The tools closest to a text first (`ToolChooser.ranked`): where a call read from text is
# checked against what the user asked.
Ranker = Callable[[Sequence[ToolSpec], str], Sequence[ToolSpec]]

REPEATED_PROMPT = (
    "You already have the results of your tool calls above. Do not call any tool again: "
    "answer the user now, in plain words, with what the results say."
)
GUESSED = "The model wrote a tool call as text with arguments no one gave"
GUESS_CORRECTION = (
    CORRECTION_LEAD + " nothing said so far gives {guesses}. If no tool is needed, "
    "answer in plain words. If a tool can find that value, call it first. If only the user "
    "can say it, ask them."
)
STRAYED = "The model wrote a call as text to a tool that does not fit what was asked"
STRAYED_BARE = (
    "Not run: a call written as text with no arguments (or none left), or after the tools' "
    "results, to a tool that does not fit what was asked"
)
MEANT = "Read a call to a tool that does not exist by its arguments, which are another's"
FILLED = "The model filled in optional arguments with values no one gave"
FANNED = "Your message lists several values for one argument; made the same call for each"
REST_PROMPT = CORRECTION_LEAD + " it was made already. Now: {rest}"
RESTED = (
    "The model made a call again that it had made already; asked it for the rest of the request"
)
STRAY_CORRECTION = (
    CORRECTION_LEAD + " {strays} does not fit what the user asked. If another tool does, "
    "call it with values the user gave; if none does, answer in plain words."
)
NO_TOOL_PROMPT = (
    "Do not call a tool for this: answer the user directly, in plain words. If you need "
    "something from the user to answer (a name, a place, a date), ask for it."
)
WORDS_PROMPT = (
    "Your last reply was a tool call or code, not an answer. Do not call a tool: answer the "
    "user now, in plain words, with what the tool results above say."
)
AFRESH = (
    "The model replied with a tool call again, and no tool ran; asking it once more, with "
    "this turn's attempts left out."
)
NO_WORDS = (
    "The model again replied with a tool call, code or Rung's own correction instead of "
    "words; showing what the tools returned."
)
CORRECTIONS = 2  # model steps a turn spends on corrections at most: a call's, a stray tool's
PARROTED = 40  # characters of a correction repeated in a reply: not an answer
RESULT_CHARS = 600  # of each tool result, in an answer made of them
STEP_LIMIT_PROMPT = (
    "You have used all {n} tool steps for this turn. Do not call any more tools: "
    "answer the user now with what you have found so far."
)


@dataclass
class Turn:
    """The state of one turn: the messages it has added so far and its usage."""

    new_messages: list[Message] = field(default_factory=list)
    usage: Usage = field(default_factory=Usage)
    seen_calls: set[str] = field(default_factory=set)
    corrected: bool = False  # the model was told once how to fix a call written as text
    strayed: bool = False  # ... or that the tool of such a call does not fit what was asked
    unknown: dict[str, Any] | None = None  # arguments of a call to no such tool (`renamed`)
    rest_asked: bool = False  # the model was told the rest of the request (`rest_of`)

    @property
    def ran_tools(self) -> bool:
        return any(m.role == "tool" for m in self.new_messages)


async def run_turn(
    model: ChatModel,
    history: Sequence[Message],
    tools: ToolRegistry | None = None,
    *,
    max_steps: int = 12,
    lenient: bool = True,
    max_result_chars: int | None = None,
    timeout: float | None = None,
    ranker: Ranker | None = None,
) -> AsyncGenerator[LoopEvent]:
    """Run one turn over ``history`` (which ends with the user's message).

    ``lenient``: a tool call the model wrote as text is run (or corrected once), see
    `tool_text`; with a ``ranker``, once, not when its tool is far from what the user
    asked (`restraint.strays`). ``max_result_chars``: a longer tool result is cut, with a note.
    ``timeout``: seconds for the whole turn, then `TurnTimeout`. The boundary lines of tool
    results that a model copies into its reply are not shown, nor kept (`Unframing`).
    """
    steps = _steps(model, history, tools, max_steps, lenient, max_result_chars, timeout, ranker)
    shown = Unframing()
    async with contextlib.aclosing(steps):
        async for event in steps:
            if isinstance(event, TextDelta):
                if text := shown.feed(event.text):
                    yield TextDelta(text)
                continue
            if held := shown.flush():
                yield TextDelta(held)
            yield without_frames(event) if isinstance(event, FinalAnswer) else event


def without_frames(final: FinalAnswer) -> FinalAnswer:
    """`final` with its answer's copied boundary lines left out, also where it is kept."""
    said = unframed(final.message.content)
    if said == final.message.content:
        return final
    answer = replace(final.message, content=said.rstrip())
    kept = [answer if m is final.message else m for m in final.new_messages]
    return FinalAnswer(answer, kept, final.usage)


async def _steps(
    model: ChatModel,
    history: Sequence[Message],
    tools: ToolRegistry | None,
    max_steps: int,
    lenient: bool,
    max_result_chars: int | None,
    timeout: float | None,
    ranker: Ranker | None,
) -> AsyncGenerator[LoopEvent]:
    """`run_turn`'s steps, as the model gives them."""
    turn = Turn()
    specs = tools.specs() if tools else None
    sent = history[-1].content if history and history[-1].role == "user" else None
    deadline = Deadline.after(timeout)
    for step in range(max_steps):
        reply = None
        hold = HoldBack(whole=turn.corrected) if specs and lenient else None
        async for event in deadline.until(model.stream([*history, *turn.new_messages], specs)):
            if isinstance(event, ModelDone):
                reply = event
            elif hold is not None and isinstance(event, TextDelta):
                if shown := hold.feed(event.text):
                    yield TextDelta(shown)
            else:
                yield event
        if reply is None:
            raise ModelResponseError(f"the model {model.name!r} ended a step without a reply")
        turn.usage.add(reply.usage)
        if reply.cut:
            yield Notice(CUT_REPLY)
        message = reply.message
        if sent is not None:
            message = replace(message, content=drop_echo(message.content, sent))
        if hold is not None and specs and not message.tool_calls:
            unknown, turn.unknown = turn.unknown, None  # for the reply to its correction only
            found = rescue(message.content, specs, step=step) or renamed(
                message.content, unknown, specs, step=step
            )
            if found is not None and found.correction and not turn.corrected:
                turn.corrected = True
                turn.unknown = found.unknown
                turn.new_messages += [message, Message("user", found.correction)]
                yield Notice(
                    "The model wrote a tool call that could not be run; asked it to fix it."
                )
                continue
            if found is not None and found.calls:
                if found.meant:
                    yield Notice(f"{MEANT} ({', '.join(found.meant)}).")
                conversation = [*history, *turn.new_messages]
                given, guesses, filled = grounded(found.calls, conversation, specs)
                if filled:
                    yield Notice(f"{FILLED} ({', '.join(filled)}); left out: the defaults apply.")
                if guesses:
                    yield Notice(f"{GUESSED} ({', '.join(guesses)}); not run.")
                if guesses and not given:
                    if not turn.corrected:  # once: a tool may find them, or the user say them
                        turn.corrected = True
                        told = guess_correction(guesses)
                        turn.new_messages += [message, told]
                        continue
                    final = WORDS_PROMPT if turn.ran_tools else NO_TOOL_PROMPT
                    break
                had = {c.id: c.arguments for c in found.calls}
                bare = {c.id for c in given if had[c.id] and not c.arguments}  # all filled in
                astray, kept = await strayed(given, specs, sent, turn, ranker, bare)
                if astray:
                    turn.corrected = turn.strayed = True
                    yield Notice(f"{STRAYED} ({astray}); asked it to choose again.")
                    ask = STRAY_CORRECTION.format(strays=astray)
                    turn.new_messages += [message, Message("user", ask)]
                    continue
                if unrun := [c.name for c in given if c not in kept]:
                    yield Notice(f"{STRAYED_BARE} ({', '.join(unrun)}).")
                if not kept:
                    final = WORDS_PROMPT if turn.ran_tools else NO_TOOL_PROMPT
                    break
                fits = not turn.ran_tools and not turn.strayed  # not a call made again as told
                if sent and fits and (more := fanned(kept, typed_text(sent))):
                    shown = ", ".join(f"{c.name} {dumps_arguments(c.arguments)}" for c in more)
                    yield Notice(f"{FANNED}: {shown}.")
                    kept += more
                found = replace(found, calls=kept)
                fresh = [c for c in found.calls if call_key(c) not in turn.seen_calls]
                calls = fresh or found.calls  # all made already: the repeat is told below
                message = replace(message, content=found.prose, tool_calls=calls)
            elif hold.release() and not unanswered(message, specs, turn):
                yield TextDelta(message.content)  # what was held is the reply: echo dropped
        if message.tool_calls and specs:
            calls, fixes = check_calls(message.tool_calls, specs)
            message = replace(message, tool_calls=calls)
            for fix in fixes:
                yield Notice(f"Fixed the arguments of a tool call ({fix}).")
        if lenient and (rest := rest_of(message, sent, turn)):
            turn.rest_asked = True
            yield Notice(f'{RESTED}: "{rest}".')
            turn.new_messages.append(Message("user", REST_PROMPT.format(rest=rest)))
            continue
        if unanswered(message, specs, turn):  # after results: a call again, JSON, a tool's name
            yield Notice("The model's reply was not an answer; asking it for one in words.")
            final = WORDS_PROMPT if turn.ran_tools else NO_TOOL_PROMPT
            break
        turn.new_messages.append(message)
        if not message.tool_calls:
            yield FinalAnswer(message, turn.new_messages, turn.usage)
            return
        for call in message.tool_calls:
            yield ToolCallStarted(call)
        taint = tainted([*history, *turn.new_messages], sent)
        results = await deadline.by(
            run_tool_calls(message.tool_calls, tools, turn.seen_calls, taint, max_result_chars)
        )
        for result in results:
            turn.new_messages.append(tool_message(result))
            yield result
            if result.refused:
                yield Notice(f"{result.call.name} did not run: {result.refused}.")
        if all(r.content == REPEATED_CALL.format(name=r.call.name) for r in results):
            # A small model that loops on a call it already made: ask for the answer now.
            yield Notice("The model repeated a call it had already made; asking it to answer.")
            final = REPEATED_PROMPT
            break
    else:
        yield Notice(f"Reached the limit of {max_steps} tool steps; asking for a final answer.")
        final = STEP_LIMIT_PROMPT.format(n=max_steps)
    limit = Message("system", final)
    hold = HoldBack(whole=turn.corrected or final == REPEATED_PROMPT)  # it may parrot Rung
    async for event in deadline.until(model.stream([*history, *turn.new_messages, limit], None)):
        if isinstance(event, ModelDone):
            answer = Message("assistant", event.message.content, thinking=event.message.thinking)
            turn.usage.add(event.usage)
            if specs and (not_an_answer(answer.content, specs) or parroted(answer.content, turn)):
                yield Notice(NO_WORDS if turn.ran_tools else AFRESH)
                answer = (
                    Message("assistant", from_results(turn.new_messages))
                    if turn.ran_tools
                    else await afresh(model, history, deadline, turn, specs)
                )
                yield TextDelta(answer.content)
            elif shown := hold.release():
                yield TextDelta(shown)
            turn.new_messages.append(answer)
            yield FinalAnswer(answer, turn.new_messages, turn.usage)
            return
        if isinstance(event, TextDelta):
            if shown := hold.feed(event.text):
                yield TextDelta(shown)
        else:
            yield event
    raise ModelResponseError(f"the model {model.name!r} ended a step without a reply")


async def afresh(
    model: ChatModel,
    history: Sequence[Message],
    deadline: Deadline,
    turn: Turn,
    specs: Sequence[ToolSpec],
) -> Message:
    """The user's message asked once more, with no tools and without this turn's calls and
    corrections (they prime a small model to write one more call), for a turn where no
    tool ran and the model gave no answer in words: its reply if it is one, else a line
    saying no answer came."""
    reply = None
    asked = [*history, Message("system", NO_TOOL_PROMPT)]
    async for event in deadline.until(model.stream(asked, None)):
        if isinstance(event, ModelDone):
            reply = event
    if reply is None:
        raise ModelResponseError(f"the model {model.name!r} ended a step without a reply")
    turn.usage.add(reply.usage)
    text = reply.message.content
    if not_an_answer(text, specs) or parroted(text, turn):
        return Message("assistant", from_results(turn.new_messages))
    return Message("assistant", text, thinking=reply.message.thinking)


def grounded(
    calls: Sequence[ToolCall], conversation: Sequence[Message], specs: Sequence[ToolSpec]
) -> tuple[list[ToolCall], list[str], list[str]]:
    """The calls read from text whose arguments someone gave (`restraint`), without the
    optional ones the model made up; the made-up arguments of the others; and the optional
    ones left out (each "name=value")."""
    schemas = {s.name: s.parameters for s in specs}
    given, guesses, filled = [], [], []
    for call in calls:
        call, left, made_up = weigh(call, conversation, schemas.get(call.name))
        filled += left
        if made_up:
            guesses += made_up
        else:
            given.append(call)
    return given, guesses, filled


def guess_correction(guesses: Sequence[str]) -> Message:
    """What the model is told of its made-up arguments (no tool named: for a question no
    tool answers, a named tool is an invitation)."""
    return Message("user", GUESS_CORRECTION.format(guesses=", ".join(guesses)))


async def strayed(
    calls: Sequence[ToolCall],
    specs: Sequence[ToolSpec],
    sent: str | None,
    turn: Turn,
    ranker: Ranker | None,
    bare: Collection[str] = (),
) -> tuple[str, list[ToolCall]]:
    """Of calls read from text, those to tools that do not fit the user's message. Before
    any tool ran, the first time, their tools are named for a correction (also after
    another correction: told its made-up tool does not exist, a model may reach for any
    real one). Made again, they run, except a call with no arguments: nothing in it ties
    it to what was asked. After tools ran, they do not run, with no correction: a small
    model given results often writes a few more calls, one a line, to whatever tools the
    results bring to mind (`forget(what="Ana")` after reading a note about Ana). The
    `bare` calls (ids), left with no arguments once their made-up optional ones were left
    out, must share a word with the message, in any step, with no correction (the ranking
    is too loose a test for a call that says nothing itself: for a question no tool
    answers, the clock's tools rank high). Returns the names ("" when none
    is to be corrected) and the calls that may run. (The closest tools are not named to the
    model: for a question no tool answers, a list is an invitation.)"""
    ranking = len(specs) > FITTING
    if sent is None or not ((ranker and ranking) or bare):
        return "", list(calls)
    message = typed_text(sent)
    unfit = strays([c for c in calls if c.id in bare], specs, message, fitting=0)
    calls = [c for c in calls if c.id not in bare or c.name not in unfit]
    if ranker is None or not ranking:
        return "", calls
    far = strays(calls, await asyncio.to_thread(ranker, specs, message), message)
    if far and not turn.strayed and not turn.ran_tools:
        return ", ".join(far), calls
    return "", [c for c in calls if c.name not in far or (c.arguments and not turn.ran_tools)]


def rest_of(message: Message, sent: str | None, turn: Turn) -> str:
    """For a step that only makes again calls made already this turn, the first time: what
    of the user's message (`sent`) no call made so far covers (`remainder`), else ""."""
    calls = message.tool_calls
    if turn.rest_asked or sent is None or not calls:
        return ""
    if any(call_key(c) not in turn.seen_calls for c in calls):
        return ""
    made = [c for m in turn.new_messages if m.role == "assistant" for c in m.tool_calls]
    return remainder(typed_text(sent), made)


def unanswered(message: Message, specs: Sequence[ToolSpec] | None, turn: Turn) -> bool:
    """A final reply that says nothing, once tools ran (or a call was corrected): see
    `not_an_answer`, or a copy of what Rung told the model (a small model may parrot it)."""
    if message.tool_calls or not specs or not (turn.corrected or turn.ran_tools):
        return False
    return not_an_answer(message.content, specs) or parroted(message.content, turn)


def parroted(text: str, turn: Turn) -> bool:
    """`text` repeats much of what Rung itself told the model this turn: a correction, or
    that a call was made already (`REPEATED_CALL`)."""
    told = [  # what follows each lead: the model may reword the lead
        m.content[len(lead) :].lower()
        for m in turn.new_messages
        for lead in (CORRECTION_LEAD, REPEATED_LEAD)
        if m.content.startswith(lead)
    ]
    said = text.lower()
    for tail in told:
        match = difflib.SequenceMatcher(None, said, tail, autojunk=False).find_longest_match()
        if match.size >= min(PARROTED, len(tail) // 2):
            return True
    return False


def from_results(messages: Sequence[Message]) -> str:
    """An answer made of the turn's tool results, for a model that would not give one."""
    results = [m for m in messages if m.role == "tool" and not m.content.startswith(REPEATED_LEAD)]
    if not results:
        return (
            "I could not answer that: the model made no tool call that could run, and gave "
            "no answer without one. Asking again in other words, or a larger model, may help."
        )
    shown = [f"- {m.tool_name}: {cut(unmarked(m.content).strip(), RESULT_CHARS)}" for m in results]
    return "The model did not put the results into words. What the tools returned:\n\n" + (
        "\n".join(shown)
    )


async def run_tool_calls(
    calls: Sequence[ToolCall],
    tools: ToolRegistry | None,
    seen: set[str],
    taint: Taint | None = None,
    max_chars: int | None = None,
) -> list[ToolResult]:
    """Run one step's calls concurrently; every failure becomes an error result."""

    async def run_one(call: ToolCall) -> ToolResult:
        key = call_key(call)
        if call.error:
            return ToolResult(call, call.error, is_error=True)
        if key in seen:
            return ToolResult(call, REPEATED_CALL.format(name=call.name), is_error=True)
        seen.add(key)
        if tools is None:
            return ToolResult(call, "no tools are available in this conversation", True)
        try:
            text = await tools.call(call.name, call.arguments, taint)
            return ToolResult(call, cut(text, max_chars), untrusted=True)
        except ApprovalDenied as exc:
            return ToolResult(call, f"{TOOL_ERROR}{exc}", is_error=True, refused=exc.hint)
        except ToolFailed as exc:
            return ToolResult(call, TOOL_ERROR + cut(str(exc), max_chars), True, untrusted=True)
        except Exception as exc:  # a tool's failure is the model's to handle
            return ToolResult(call, f"{TOOL_ERROR}{exc}", is_error=True)

    return list(await asyncio.gather(*(run_one(call) for call in calls)))


def call_key(call: ToolCall) -> str:
    """What makes two calls the same call."""
    return f"{call.name}:{dumps_arguments(call.arguments)}"


CUT_REPLY = (
    "The model's reply reached the output cap and was cut there (max_reply_tokens in the "
    "config file sets it)."
)
REPEATED_LEAD = TOOL_ERROR + "you already called "
REPEATED_CALL = REPEATED_LEAD + (
    "{name} with exactly these arguments in this turn; "
    "its result is above. Use it, try different arguments, or answer."
)
CUT_NOTE = (
    "[Rung cut this result here: {left:,} of its {total:,} characters were left out, to "
    "keep the context window for the conversation. To see more, ask for a part of it: a "
    "narrower search, fewer lines, or a read from an offset.]"
)


def cut(text: str, max_chars: int | None) -> str:
    """`text` within `max_chars` (its start), with a note saying how much was left out."""
    if max_chars is None or len(text) <= max_chars:
        return text
    kept = text[:max_chars]
    return kept + "\n" + CUT_NOTE.format(left=len(text) - len(kept), total=len(text))


def tainted(messages: Sequence[Message], sent: str | None) -> Taint | None:
    """The taint of a turn whose context is `messages`, if untrusted content is in it: the
    hosts the user named in their message (`sent`) stay reachable, but not with words read
    from files, tools or memory (web pages are public) that the user did not write."""
    blocks = untrusted_blocks(messages)
    if not blocks:
        return None
    typed = typed_text(sent) if sent is not None else ""
    read = set().union(*(words(text) for source, text in blocks if source != FETCH))
    return Taint(
        f"untrusted content ({blocks[0][0]})", named_hosts(typed), frozenset(read - words(typed))
    )


def tool_message(result: ToolResult) -> Message:
    content = untrusted(result.call.name, result.content) if result.untrusted else result.content
    return Message("tool", content, tool_name=result.call.name, tool_call_id=result.call.id)


@dataclass(frozen=True)
class Deadline:
    """When a turn must end (`at`, on the event loop's clock; None: never): what it awaits
    past then ends in `TurnTimeout`."""

    at: float | None
    timeout: float | None
    started: float

    @classmethod
    def after(cls, timeout: float | None) -> Deadline:
        now = asyncio.get_running_loop().time()
        return cls(None if timeout is None else now + timeout, timeout, now)

    async def until(self, stream: AsyncIterator[T]) -> AsyncGenerator[T]:
        """`stream`'s items until the deadline; the stream is closed either way."""
        async with contextlib.aclosing(stream):  # type: ignore[type-var]
            while True:
                try:
                    item = await self.by(anext(stream))
                except StopAsyncIteration:
                    return
                yield item

    async def by(self, awaitable: Awaitable[T]) -> T:
        """`awaitable`'s result if it comes before the deadline."""
        try:
            async with asyncio.timeout_at(self.at):
                return await awaitable
        except TimeoutError:
            took = asyncio.get_running_loop().time() - self.started
            raise TurnTimeout(
                f"the turn was stopped after {took:.0f} s: it ran past "
                f"turn_timeout ({self.timeout:g} s)",
                hint="ask for less at once, or raise turn_timeout in the config file "
                "(`rung config path` says where it is)",
            ) from None
