"""Notifications: every one goes to the inbox, and to the sinks its job names (`sinks.py`),
delivered from an outbox in the ledger, so none is lost to a restart.

A delivery that fails is tried again after 30 s, 2 min, 10 min, 1 h and 6 h, then given up;
the first failure of a sink posts one inbox item that says so (one, however many
deliveries then fail, until the sink works again), and `rung daemon status` shows each
sink's deliveries waiting, given up and its last error. During quiet hours
(`quiet_hours`, local time) a notification is held; when they end, each sink gets one
digest of what was held. A failure of a job marked urgent goes out at once."""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping

from rung.agent.daemon.ledger import SYSTEM, Delivery, Ledger
from rung.agent.daemon.schedule import Hours
from rung.agent.daemon.sinks import Note, Sender, SinkError
from rung.agent.daemon.ticker import Ticker

log = logging.getLogger(__name__)

RETRY_S = (30.0, 120.0, 600.0, 3600.0, 6 * 3600.0)  # after each failed try; then give up
MAX_SLEEP_S = 300.0


class Notifier:
    def __init__(
        self,
        ledger: Ledger,
        senders: Mapping[str, Sender],
        *,
        clock: Callable[[], float],
        quiet: Hours | None = None,
    ) -> None:
        self.ledger = ledger
        self.senders = senders
        self.clock = clock
        self.quiet = quiet
        self._ticker = Ticker("the notifier", MAX_SLEEP_S)
        self._failing: set[str] = set()  # sinks whose failure the inbox was told of

    def post(
        self,
        job: str,
        title: str,
        body: str,
        *,
        run_id: int | None,
        sinks: tuple[str, ...] = (),
        urgent: bool = False,
    ) -> int:
        """Put a notification in the inbox and on its way to `sinks`."""
        now = self.clock()
        held = None if urgent or self.quiet is None else self.quiet.ends(now)
        item = self.ledger.post(
            job, title, body, run_id=run_id, urgent=urgent, sinks=sinks, held_until=held, now=now
        )
        if sinks:
            self._ticker.wake()
        return item

    async def serve(self) -> None:
        await self._ticker.run(self.deliver)

    async def deliver(self) -> float:
        """Send what is due; the seconds until the next delivery is due."""
        now = self.clock()
        for sink, deliveries, note in batches(self.ledger.due(now)):
            await self._send(sink, deliveries, note)
        nxt = self.ledger.next_delivery()
        return MAX_SLEEP_S if nxt is None else max(0.0, min(MAX_SLEEP_S, nxt - self.clock()))

    async def _send(self, sink: str, deliveries: list[Delivery], note: Note) -> None:
        ids = [d.id for d in deliveries]
        sender = self.senders.get(sink)
        try:
            if sender is None:
                raise SinkError(f"there is no notification sink {sink!r}")
            await sender(note)
        except SinkError as exc:
            attempt = max(d.attempts for d in deliveries)
            delay = RETRY_S[attempt] if attempt < len(RETRY_S) else None
            now = self.clock()
            self.ledger.undelivered(
                ids, exc.message, retry_at=None if delay is None else now + delay, now=now
            )
            log.warning("a notification to %s failed: %s", sink, exc.message)
            if sink not in self._failing:
                self._failing.add(sink)
                again = "retrying with backoff" if delay is not None else "given up"
                self.ledger.post(
                    SYSTEM,
                    f"notifications to {sink} fail",
                    f"{exc.message} ({again}; `rung daemon status` shows the sinks)",
                    run_id=None,
                    now=now,
                )
            return
        self.ledger.delivered(ids, self.clock())
        self._failing.discard(sink)


def batches(due: list[Delivery]) -> list[tuple[str, list[Delivery], Note]]:
    """One note per delivery; what quiet hours held, one digest per sink."""
    out: list[tuple[str, list[Delivery], Note]] = []
    held: dict[str, list[Delivery]] = {}
    for delivery in due:
        if delivery.held:
            held.setdefault(delivery.sink, []).append(delivery)
        else:
            out.append((delivery.sink, [delivery], note_of([delivery])))
    out += [(sink, group, note_of(group)) for sink, group in held.items()]
    return out


def note_of(deliveries: list[Delivery]) -> Note:
    items = [d.item for d in deliveries]
    runs = tuple(i.run_id for i in items if i.run_id is not None)
    ids = tuple(i.id for i in items)
    urgent = any(i.urgent for i in items)
    if len(items) == 1:
        (item,) = items
        return Note(item.title, item.body, item.job, ids, runs, urgent)
    jobs = sorted({i.job for i in items})
    lines = [f"- {i.title}: {_first_line(i.body)}" for i in items]
    title = f"Rung: {len(items)} notifications held in quiet hours"
    return Note(title, "\n".join(lines), ", ".join(jobs), ids, runs, urgent)


def _first_line(text: str) -> str:
    line = text.strip().splitlines()[0] if text.strip() else ""
    return line if len(line) <= 120 else line[:119] + "…"
