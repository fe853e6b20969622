"""Without --debug, what Rung logs is one line each: an exception a record carries (a
background thread's, such as the memory's recorder finding the store busy) is named with its
message, and its traceback is left to --debug."""

from __future__ import annotations

import logging
import sys

from rung.agent.cli.main import OneLineFormatter
from rung.memory.store import StoreBusy

FORM = "%(levelname)s %(name)s: %(message)s"


def record_of(error: BaseException) -> logging.LogRecord:
    try:
        raise error
    except BaseException:
        return logging.LogRecord(
            "rung.agent.recall", logging.WARNING, __file__, 1, "could not %s", ("record",),
            sys.exc_info(),
        )  # fmt: skip


def test_a_rung_error_is_its_message_and_hint_on_the_same_line() -> None:
    busy = StoreBusy("the memory store in /m is in use by Rung (pid 7)", hint="wait for it")
    line = OneLineFormatter(FORM).format(record_of(busy))
    assert line == (
        "WARNING rung.agent.recall: could not record: "
        "the memory store in /m is in use by Rung (pid 7) (wait for it)"
    )


def test_another_exception_is_its_type_and_first_line() -> None:
    line = OneLineFormatter(FORM).format(record_of(ValueError("bad value\nmore detail")))
    assert line == "WARNING rung.agent.recall: could not record: ValueError: bad value"
