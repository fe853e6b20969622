"""Fitting a conversation into the model's window, never silently.

Until the context builder with compaction arrives, the policy is simple and loud: a
message that cannot fit on its own is refused with the numbers; when the history is too
long, the oldest whole turns are left out and the caller tells the user how many.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

from rung.agent.messages import Message
from rung.config.errors import InputTooLarge

CHARS_PER_TOKEN = 3.5  # conservative for English and code; overestimates rather than under
MESSAGE_OVERHEAD = 4  # role markers and separators in the chat template


def estimate_tokens(messages: Sequence[Message]) -> int:
    return sum(
        MESSAGE_OVERHEAD
        + math.ceil(
            (len(m.content) + sum(len(c.name) + len(str(c.arguments)) for c in m.tool_calls))
            / CHARS_PER_TOKEN
        )
        for m in messages
    )


def reply_reserve(num_ctx: int) -> int:
    """Room kept free for the model's answer."""
    return min(2048, num_ctx // 4)


@dataclass(frozen=True)
class Fitted:
    messages: list[Message]
    dropped: int  # how many earlier messages were left out
    tokens: int  # the estimate for what is sent


def fit_context(
    messages: Sequence[Message], num_ctx: int, *, extra_tokens: int = 0, scale: float = 1.0
) -> Fitted:
    """Keep leading system messages and the newest message; drop the oldest turns to fit.

    ``extra_tokens`` counts what is sent besides the messages (tool definitions); ``scale``
    corrects the estimate once Ollama has shown it to be low.
    """
    budget = int((num_ctx - reply_reserve(num_ctx)) / scale) - extra_tokens
    system = [m for m in messages[:1] if m.role == "system"]
    rest = list(messages[len(system) :])
    fixed = estimate_tokens(system) + estimate_tokens(rest[-1:])
    if fixed > budget:
        raise InputTooLarge(
            f"the message is about {estimate_tokens(rest[-1:])} tokens, but the context window "
            f"(num_ctx) is {num_ctx} tokens with {reply_reserve(num_ctx)} kept for the answer",
            hint="shorten it or send it in parts, or raise num_ctx (--num-ctx, RUNG_NUM_CTX) "
            "if the model supports a larger window",
        )
    dropped = 0
    while estimate_tokens(system + rest) > budget:
        # Drop the oldest turn whole: up to (not including) the next user message.
        cut = next((i for i, m in enumerate(rest[1:], 1) if m.role == "user"), len(rest) - 1)
        dropped += cut
        rest = rest[cut:]
    kept = system + rest
    return Fitted(kept, dropped, estimate_tokens(kept) + extra_tokens)
