"""A background loop of the daemon that does its work, then sleeps until the time the work
says is next, or until it is woken (something changed), whichever comes first. A step that
cannot read the ledger is logged, and tried again after `fallback_s`."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable

from rung.config.errors import RungError

log = logging.getLogger(__name__)


class Ticker:
    def __init__(self, what: str, fallback_s: float) -> None:
        self.what = what
        self.fallback_s = fallback_s
        self._wake = asyncio.Event()

    def wake(self) -> None:
        self._wake.set()

    async def run(self, step: Callable[[], Awaitable[float]]) -> None:
        """Forever (until cancelled): `step()`, which returns the seconds to the next."""
        while True:
            try:
                wait = await step()
            except RungError as exc:  # the ledger is busy or broken: say so, try again
                log.error("%s could not read the job ledger: %s", self.what, exc.message)
                wait = self.fallback_s
            self._wake.clear()
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(wait):
                    await self._wake.wait()
