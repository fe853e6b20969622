"""Notifications: a signed webhook, an ntfy topic and the desktop (a real D-Bus session bus,
with a test double of the desktop's notification service on it), each carrying the run id;
a failing sink retried with backoff and said once in the inbox; quiet hours held for one
digest, an urgent failure sent at once; and a job's failure notified once no retry is left."""

from __future__ import annotations

import hashlib
import hmac
import json
import shutil
import subprocess
import tempfile
import threading
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from rung.agent.daemon.ledger import Ledger
from rung.agent.daemon.notifier import RETRY_S, Notifier
from rung.agent.daemon.schedule import Hours
from rung.agent.daemon.sinks import Note, SinkError, send_desktop, send_ntfy, send_webhook
from tests.agent.daemon.conftest import Receiver, wait_for

NOTE = Note("news", "Three things changed.", "news", items=(7,), runs=(42,))


async def test_a_webhook_post_is_signed_and_names_its_run(receiver: Receiver) -> None:
    await send_webhook(NOTE, f"{receiver.url}/hook", "s3cret")
    ((path, headers, body),) = receiver.posts
    assert path == "/hook"
    expected = "sha256=" + hmac.new(b"s3cret", body, hashlib.sha256).hexdigest()
    assert hmac.compare_digest(headers["X-Rung-Signature"], expected)
    payload = json.loads(body)
    assert payload["run_ids"] == [42] and payload["inbox_ids"] == [7]
    assert payload["body"] == "Three things changed." and headers["X-Rung-Delivery"] == "rung-7"


async def test_an_ntfy_topic_gets_the_text_with_its_title_and_run(receiver: Receiver) -> None:
    urgent = Note("backup failed", "disk full", "backup", items=(8,), runs=(43,), urgent=True)
    await send_ntfy(urgent, f"{receiver.url}/rung-alerts", "tk")
    ((path, headers, body),) = receiver.posts
    assert path == "/rung-alerts"
    assert headers["Title"] == "backup failed" and headers["Priority"] == "urgent"
    assert headers["Authorization"] == "Bearer tk"
    assert body.decode().startswith("disk full") and "43" in body.decode()


async def test_a_sink_that_answers_an_error_or_is_gone_raises_with_why(receiver: Receiver) -> None:
    receiver.status = 500
    with pytest.raises(SinkError, match="answered 500"):
        await send_webhook(NOTE, receiver.url, "s")
    with pytest.raises(SinkError, match="cannot be reached"):
        await send_ntfy(NOTE, "http://127.0.0.1:9/topic", "")


# --- the desktop, over a real D-Bus session bus -------------------------------------------


class NotificationService:
    """A test double for the desktop's notification daemon: owns
    org.freedesktop.Notifications on the bus and records each Notify call."""

    def __init__(self, address: str) -> None:
        from jeepney.bus_messages import message_bus
        from jeepney.io.blocking import open_dbus_connection

        self.conn = open_dbus_connection(address)
        self.conn.send_and_get_reply(message_bus.RequestName("org.freedesktop.Notifications"))
        self.calls: list[tuple[Any, ...]] = []
        self.stopping = threading.Event()
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    def _serve(self) -> None:
        from jeepney import HeaderFields, MessageType, new_method_return

        while not self.stopping.is_set():
            try:
                message = self.conn.receive(timeout=0.1)
            except TimeoutError:
                continue
            fields = message.header.fields
            if (
                message.header.message_type == MessageType.method_call
                and fields.get(HeaderFields.member) == "Notify"
            ):
                self.calls.append(message.body)
                self.conn.send(new_method_return(message, "u", (len(self.calls),)))

    def close(self) -> None:
        self.stopping.set()
        self.thread.join(timeout=5)
        self.conn.close()


@pytest.fixture
def session_bus() -> Iterator[str]:
    """A real D-Bus session bus (Debian's dbus-daemon), stopped by pid after the test."""
    if shutil.which("dbus-daemon") is None:
        pytest.skip("dbus-daemon is not installed (Debian package: dbus)")
    folder = tempfile.mkdtemp(prefix="rung-bus-", dir="/tmp")
    address = f"unix:path={folder}/bus"
    bus = subprocess.Popen(
        ["dbus-daemon", "--session", "--nofork", f"--address={address}", "--print-address=1"],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
    )
    try:
        assert bus.stdout is not None
        assert bus.stdout.readline().decode().startswith("unix:")  # it listens
        yield address
    finally:
        bus.kill()
        bus.wait()
        assert bus.stdout is not None
        bus.stdout.close()
        shutil.rmtree(folder, ignore_errors=True)


async def test_the_desktop_gets_a_freedesktop_notification(
    session_bus: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("DBUS_SESSION_BUS_ADDRESS", session_bus)
    service = NotificationService(session_bus)
    try:
        await send_desktop(Note("backup failed", "disk full", "backup", (9,), (44,), urgent=True))
        wait_for(lambda: service.calls or None, "the notification")
    finally:
        service.close()
    ((app, _, _, title, body, _, hints, _),) = service.calls
    assert (app, title) == ("Rung", "backup failed")
    assert body.startswith("disk full") and "44" in body
    assert hints["urgency"] == ("y", 2)


async def test_no_desktop_to_notify_says_so(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.delenv("DBUS_SESSION_BUS_ADDRESS", raising=False)
    monkeypatch.setenv("XDG_RUNTIME_DIR", str(tmp_path))  # no bus there
    monkeypatch.delenv("DISPLAY", raising=False)
    with pytest.raises(SinkError) as error:
        await send_desktop(NOTE)
    assert "notify-send" in error.value.message


# --- the notifier: retries, the inbox, quiet hours ----------------------------------------


class Clock:
    def __init__(self, when: datetime) -> None:
        self.now = when.timestamp()

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def ledger(tmp_path: Path) -> Iterator[Ledger]:
    with Ledger(tmp_path / "jobs.sqlite3") as ledger:
        yield ledger


async def test_a_failing_sink_is_retried_with_backoff_and_said_once(
    ledger: Ledger, receiver: Receiver
) -> None:
    clock = Clock(datetime(2026, 6, 1, 12, tzinfo=UTC))

    async def hook(note: Note) -> None:
        await send_webhook(note, receiver.url, "s")

    notifier = Notifier(ledger, {"webhook": hook}, clock=clock)
    receiver.status = 503
    first = notifier.post("news", "a", "one", run_id=1, sinks=("webhook",))
    notifier.post("news", "b", "two", run_id=2, sinks=("webhook",))
    assert await notifier.deliver() == pytest.approx(RETRY_S[0])
    assert len(receiver.posts) == 2
    health = ledger.sink_health()["webhook"]
    assert health["waiting"] == 2 and "503" in health["last_error"]
    told = [i for i in ledger.inbox() if i.job == "rung"]
    assert len(told) == 1 and "notifications to webhook fail" in told[0].title  # once
    clock.now += 10
    await notifier.deliver()
    assert len(receiver.posts) == 2  # not before its time
    receiver.status = 200
    clock.now += RETRY_S[0]
    await notifier.deliver()
    assert len(receiver.posts) == 4
    assert json.loads(receiver.posts[2][2])["inbox_ids"] == [first]
    assert ledger.sink_health()["webhook"] == {"waiting": 0, "gave_up": 0, "last_error": None}


async def test_a_sink_failing_past_every_retry_is_given_up(ledger: Ledger) -> None:
    clock = Clock(datetime(2026, 6, 1, 12, tzinfo=UTC))

    async def broken(note: Note) -> None:
        raise SinkError("no route")

    notifier = Notifier(ledger, {"ntfy": broken}, clock=clock)
    notifier.post("news", "a", "one", run_id=1, sinks=("ntfy",))
    for delay in (0.0, *RETRY_S):
        clock.now += delay
        await notifier.deliver()
    assert ledger.sink_health()["ntfy"] == {"waiting": 0, "gave_up": 1, "last_error": "no route"}
    assert ledger.next_delivery() is None


async def test_quiet_hours_hold_notifications_for_one_digest(ledger: Ledger) -> None:
    berlin = ZoneInfo("Europe/Berlin")
    clock = Clock(datetime(2026, 6, 1, 23, 30, tzinfo=berlin))
    sent: list[Note] = []

    async def desktop(note: Note) -> None:
        sent.append(note)

    quiet = Hours.parse("22:00-07:00", berlin)
    notifier = Notifier(ledger, {"desktop": desktop}, clock=clock, quiet=quiet)
    for n in range(3):
        notifier.post("news", f"item {n}", f"text {n}", run_id=n + 1, sinks=("desktop",))
    notifier.post("backup", "backup failed", "disk full", run_id=9, sinks=("desktop",), urgent=True)
    wait = await notifier.deliver()
    assert [n.title for n in sent] == ["backup failed"]  # urgent: at once
    assert wait == pytest.approx(300)  # nothing else due before 07:00: it looks again later
    clock.now = datetime(2026, 6, 2, 7, 0, tzinfo=berlin).timestamp()
    await notifier.deliver()
    digest = sent[-1]
    assert len(sent) == 2 and digest.runs == (1, 2, 3)
    assert "3 notifications" in digest.title and "item 2: text 2" in digest.body
    assert len(ledger.inbox()) == 4  # the inbox has each, whatever the hour


def test_quiet_hours_end_on_the_right_day() -> None:
    berlin = ZoneInfo("Europe/Berlin")
    quiet = Hours.parse("22:00-07:00", berlin)
    assert quiet is not None
    at = datetime(2026, 6, 1, 23, 0, tzinfo=berlin).timestamp()
    end = quiet.ends(at)
    assert end is not None
    assert datetime.fromtimestamp(end, berlin).isoformat() == "2026-06-02T07:00:00+02:00"
    assert quiet.ends(datetime(2026, 6, 1, 12, 0, tzinfo=berlin).timestamp()) is None
    day = Hours.parse("12:00-14:00", berlin)
    assert day is not None and day.ends(datetime(2026, 6, 1, 15, tzinfo=berlin).timestamp()) is None
