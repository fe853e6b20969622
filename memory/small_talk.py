"""Small talk: a conversation turn that says nothing a later question could need.

"Haha, true.", "Bye Idris!", "You're welcome, Ana!", "Ok, I need to make dinner." Such turns
are most of a long chat, and their embeddings sit near any question of the same mood, so a
turn is recalled into the prompt only when it is not small talk (`agent/recall.py`).

A turn is small talk when, once the speakers' labels ("User:", "Maren:") are taken off, it
holds fewer than CONTENT_WORDS words that are neither function words nor the words of
everyday chat below, and nothing specific: no digit, and no capitalised word inside a
sentence other than "I" and the names the caller says are everywhere (the user's own name,
a partner's). The lists are English: a turn in another language is small talk only when it
has fewer than CONTENT_WORDS words at all. bench/memory_recall counts the small talk that would
reach the prompt on its conversations set (none) and the answering turns it keeps.
"""

from __future__ import annotations

import re
from collections.abc import Collection

from rung.memory.index import STOPWORDS

CONTENT_WORDS = 3
CHAT_WORDS = frozenset(
    """
    yeah yes yep yup no nope ok okay oh ah ha haha hah hehe lol hmm um uh wow ooh aw aww ugh
    hi hey hello bye goodbye cya night thanks thank cheers welcome sorry please sure right
    well just really very so too quite pretty bit lot lots much many more most
    good great nice fine cool amazing awesome brilliant lovely fair true enough best better
    bad worse worst fun funny glad happy sad tired busy same news luck hope guess mean
    him hers yours ours mine myself yourself he's she's off out over here yet soon later
    i'm it's that's what's how's who's you're we're they're i've you've i'll you'll i'd
    don't can't won't isn't aren't wasn't didn't doesn't haven't there's here's let's
    get got getting going go gone make made know think need want like feel see say says said
    doing done hear heard tell told look come back still again now then today tonight
    tomorrow yesterday week weekend day days time morning evening night
    thing things stuff something anything everything nothing way one ones kind sort else
    also anyway actually maybe probably definitely honestly totally literally
    """.split()  # noqa: SIM905 (a word list reads better as text)
)
_LABEL = re.compile(r"^[ \t]*\w[\w'-]*(?: \w[\w'-]*){0,2}(?: \([^)]*\))?:", re.MULTILINE)


def is_small_talk(text: str, names: Collection[str] = ()) -> bool:
    """Whether `text` (a turn, "Name: words" per line) is small talk; `names`: names that
    are in most turns, which say nothing specific."""
    said = _LABEL.sub(" ", text)
    if re.search(r"\d", said):
        return False
    sentence_start = True
    for word in re.findall(r"[\w']+|[.!?\n]", said):
        if word in ".!?\n":
            sentence_start = True
            continue
        if (
            word[0].isupper()
            and not sentence_start
            and word not in names
            and word.split("'")[0] != "I"
        ):
            return False  # a name or a place: something specific
        sentence_start = False
    lower = {n.lower() for n in names}
    content = [
        w
        for w in re.findall(r"[\w']+", said.lower())
        if w not in STOPWORDS and w not in CHAT_WORDS and w not in lower
    ]
    return len(content) < CONTENT_WORDS
