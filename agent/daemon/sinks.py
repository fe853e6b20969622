"""Where notifications go besides the inbox: the desktop, a webhook, an ntfy topic.

- **desktop**: freedesktop notifications (`org.freedesktop.Notifications.Notify`) over the
  D-Bus session bus, through `jeepney`; where there is no bus address but `notify-send` is
  installed, through that.
- **webhook**: a JSON POST to `webhook_url`, signed: `X-Rung-Signature: sha256=HEX`, the
  HMAC-SHA256 of the body's bytes with `webhook_secret` (the receiver computes the same and
  compares in constant time).
- **ntfy**: a POST of the text to the topic's URL (`ntfy_url`), with its title and
  priority as ntfy's headers; `ntfy_token`, when set, as a bearer token.

Every notification names its run ids and its inbox ids (the webhook's body, the ntfy and
webhook `X-Rung-Delivery` header, the desktop's text), so a sink that sees one twice — a
retry after a timeout that did arrive — can drop it. A send that fails raises `SinkError`,
with why; the notifier retries it."""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import os
import shutil
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from rung.config.errors import RungError, UserError
from rung.config.settings import Settings

SINKS = ("desktop", "webhook", "ntfy")
SEND_TIMEOUT_S = 15.0


class SinkError(RungError):
    """A notification could not be delivered."""


@dataclass(frozen=True)
class Note:
    """One notification: one inbox item, or a digest of several."""

    title: str
    body: str
    job: str
    items: tuple[int, ...]  # inbox ids
    runs: tuple[int, ...]  # the runs they came from
    urgent: bool = False

    @property
    def delivery(self) -> str:
        """Its identity for a receiver that drops duplicates."""
        return "rung-" + "-".join(map(str, self.items))

    def payload(self) -> dict[str, Any]:
        return {
            "type": "rung.notification",
            "delivery": self.delivery,
            "job": self.job,
            "title": self.title,
            "body": self.body,
            "urgent": self.urgent,
            "inbox_ids": list(self.items),
            "run_ids": list(self.runs),
        }


Sender = Callable[[Note], Awaitable[None]]


def check_sinks(names: list[str], settings: Settings) -> tuple[str, ...]:
    """The sinks a job names, each known and set up; UserError otherwise."""
    for name in names:
        if name == "inbox":
            continue  # always
        if name not in SINKS:
            raise UserError(
                f"there is no notification sink {name!r}",
                hint="pick from inbox (always), " + ", ".join(SINKS),
            )
        if name == "webhook" and not (settings.webhook_url and settings.webhook_secret):
            raise UserError(
                "the webhook sink needs webhook_url and webhook_secret",
                hint="set both in config.toml (or RUNG_WEBHOOK_URL, RUNG_WEBHOOK_SECRET)",
            )
        if name == "ntfy" and not settings.ntfy_url:
            raise UserError(
                "the ntfy sink needs ntfy_url (the topic's URL)",
                hint="set it in config.toml (or RUNG_NTFY_URL)",
            )
    return tuple(dict.fromkeys(n for n in names if n != "inbox"))


def senders(settings: Settings) -> dict[str, Sender]:
    async def webhook(note: Note) -> None:
        await send_webhook(note, settings.webhook_url, settings.webhook_secret)

    async def ntfy(note: Note) -> None:
        await send_ntfy(note, settings.ntfy_url, settings.ntfy_token)

    return {"desktop": send_desktop, "webhook": webhook, "ntfy": ntfy}


def signature(body: bytes, secret: str) -> str:
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


async def send_webhook(note: Note, url: str, secret: str) -> None:
    if not url or not secret:
        raise SinkError("webhook_url and webhook_secret are not both set")
    body = json.dumps(note.payload(), ensure_ascii=False).encode()
    headers = {
        "Content-Type": "application/json",
        "X-Rung-Signature": signature(body, secret),
        "X-Rung-Delivery": note.delivery,
    }
    await _post(url, body, headers, "the webhook")


async def send_ntfy(note: Note, url: str, token: str) -> None:
    if not url:
        raise SinkError("ntfy_url is not set")
    headers = {
        "Title": _header(note.title),
        "Priority": "urgent" if note.urgent else "default",
        "Tags": "rung",
        "X-Rung-Delivery": note.delivery,
    }
    if token:
        headers["Authorization"] = f"Bearer {token}"
    text = f"{note.body}\n\n(runs {', '.join(map(str, note.runs))})" if note.runs else note.body
    await _post(url, text.encode(), headers, "the ntfy server")


def _header(text: str) -> str:
    """One line of latin-1, as an HTTP header must be."""
    line = " ".join(text.split())[:200]
    return line.encode("latin-1", errors="replace").decode("latin-1")


async def _post(url: str, body: bytes, headers: dict[str, str], what: str) -> None:
    import httpx

    try:
        async with httpx.AsyncClient(timeout=SEND_TIMEOUT_S) as client:
            response = await client.post(url, content=body, headers=headers)
    except httpx.HTTPError as exc:
        raise SinkError(f"{what} at {url} cannot be reached: {exc or type(exc).__name__}") from None
    if response.status_code >= 300:
        raise SinkError(f"{what} at {url} answered {response.status_code}")


# --- the desktop ---------------------------------------------------------------------------

NOTIFICATIONS = "org.freedesktop.Notifications"


async def send_desktop(note: Note) -> None:
    body = note.body if not note.runs else f"{note.body}\n(run {', '.join(map(str, note.runs))})"
    bus = session_bus()
    if bus:
        await _notify_dbus(bus, note.title, body, urgent=note.urgent)
        return
    if shutil.which("notify-send"):
        await _notify_send(note.title, body, urgent=note.urgent)
        return
    raise SinkError(
        "no desktop to notify: no D-Bus session bus and no notify-send",
        hint="run the daemon in your desktop session (systemctl --user), or install libnotify-bin",
    )


def session_bus() -> str:
    """The session bus's address: $DBUS_SESSION_BUS_ADDRESS, or systemd's
    $XDG_RUNTIME_DIR/bus (a user service may not be given the variable); "" when none."""
    address = os.environ.get("DBUS_SESSION_BUS_ADDRESS", "")
    if address:
        return address
    runtime = os.environ.get("XDG_RUNTIME_DIR", "")
    path = os.path.join(runtime, "bus") if runtime else ""
    return f"unix:path={path}" if path and os.path.exists(path) else ""


async def _notify_dbus(bus: str, title: str, body: str, *, urgent: bool) -> None:
    from jeepney import DBusAddress, MessageType, new_method_call
    from jeepney.io.asyncio import open_dbus_router

    address = DBusAddress(
        "/org/freedesktop/Notifications", bus_name=NOTIFICATIONS, interface=NOTIFICATIONS
    )
    hints = {"urgency": ("y", 2 if urgent else 1), "desktop-entry": ("s", "rung")}
    message = new_method_call(
        address, "Notify", "susssasa{sv}i", ("Rung", 0, "", title, body, [], hints, -1)
    )
    try:
        async with asyncio.timeout(SEND_TIMEOUT_S), open_dbus_router(bus=bus) as router:
            reply = await router.send_and_get_reply(message)
    except TimeoutError:
        raise SinkError("the desktop's notification service did not answer") from None
    except (OSError, EOFError, RuntimeError, ValueError) as exc:
        raise SinkError(f"cannot reach the D-Bus session bus: {exc}") from None
    if reply.header.message_type == MessageType.error:
        raise SinkError(f"the desktop refused the notification: {reply.body}")


async def _notify_send(title: str, body: str, *, urgent: bool) -> None:
    process = await asyncio.create_subprocess_exec(
        "notify-send",
        "--app-name=Rung",
        f"--urgency={'critical' if urgent else 'normal'}",
        title,
        body,
        stdin=asyncio.subprocess.DEVNULL,
        stdout=asyncio.subprocess.DEVNULL,
        stderr=asyncio.subprocess.PIPE,
    )
    try:
        async with asyncio.timeout(SEND_TIMEOUT_S):
            _, err = await process.communicate()
    except TimeoutError:
        process.kill()
        await process.wait()
        raise SinkError("notify-send did not finish") from None
    if process.returncode != 0:
        raise SinkError(f"notify-send failed: {err.decode(errors='replace').strip()}")
