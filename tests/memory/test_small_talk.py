"""Small talk: the turns of a chat that recall leaves out of the prompt."""

from __future__ import annotations

import pytest

from rung.memory.small_talk import is_small_talk

NAMES = {"Maren", "Idris"}


@pytest.mark.parametrize(
    "text",
    [
        "Haha, true.",
        "Maren: Bye Idris!",
        "User: thanks!\nAssistant: You're welcome, Maren! Anything else?",
        "Idris: Ok, I need to make dinner.",
        "Assistant (stopped by the user): Sure, one moment",
        "User: He's doing fine.\nAssistant: Glad to hear it, Maren!",
    ],
)
def test_small_talk(text: str) -> None:
    assert is_small_talk(text, NAMES)


@pytest.mark.parametrize(
    "text",
    [
        # something specific: a number, a name that is not everywhere
        "Maren: Ailsa had the baby on the 21st!",
        "Idris: Is it Friday yet?",
        "User: what's 2+2\nAssistant: 4",
        # enough words that say something
        "User: I love dancing to old soul records\nAssistant: Noted!",
        "Maren: The vet found a heart murmur.",
        # another language: its words are not in the (English) lists, so all of them count
        "Maren: Merci, à demain !",
    ],
)
def test_not_small_talk(text: str) -> None:
    assert not is_small_talk(text, NAMES)


def test_a_name_that_is_everywhere_is_not_specific_but_another_is() -> None:
    assert is_small_talk("User: Bye Idris!", {"Idris"})
    assert not is_small_talk("User: Bye Idris!", set())
