"""Severe alerts out by email (SMTP) and webhook, sent by the owner of the warehouse file.

Whoever owns the file (the Kafka sink, or the embedded follower) calls `Notifier.tick`
on every loop, after its batch is committed. A tick records the outcomes of finished
sends, asks the warehouse which sends are due (`warehouse.notifications`) and queues
them. The network I/O happens on one daemon thread per channel, with short socket
timeouts, so a dead mail server or a slow webhook never holds up ingest: the owner's
thread only ever touches queues and its own DuckDB connection. A failed send is recorded
(attempts, a reason without personal data) and retried with back-off; the table is the
memory, so a restart neither loses nor repeats what was recorded. (A send that finished
but was not yet recorded when the process died is sent again: at least once.)

What a message says is decided in `safeguard.notification`: never any pupil detail.
"""

from __future__ import annotations

import contextlib
import logging
import queue
import smtplib
import socket
import ssl
import threading
import urllib.error
import urllib.request
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, Protocol
from urllib.parse import urlsplit

from pydantic import SecretStr

from safeguard.errors import ConfigError
from safeguard.notification import (
    DEFAULT_RETRY,
    EMAIL,
    SIGNATURE_HEADER,
    WEBHOOK,
    NotifiableAlert,
    RetryPolicy,
    build_email,
    signature,
    webhook_body,
)
from safeguard.settings import ENV_VARS, Settings
from warehouse.notifications import Due, Outcome, due_notifications, record_outcomes
from warehouse.writer import Warehouse

log = logging.getLogger(__name__)
TIMEOUT = 3.0  # seconds, per socket operation
MAX_QUEUED = 20  # per channel: sends waiting on a slow server are bounded


class SendError(Exception):
    """A send the other side refused; the message is the recorded reason."""


class Channel(Protocol):
    @property
    def name(self) -> str: ...

    def send(self, alert: NotifiableAlert) -> None:
        """Deliver or raise."""


@dataclass(frozen=True)
class EmailChannel:
    host: str
    port: int
    sender: str
    recipients: tuple[str, ...]
    dashboard_url: str
    user: str | None = None
    password: SecretStr | None = None
    starttls: bool = False
    timezone: str = "UTC"
    timeout: float = TIMEOUT

    @property
    def name(self) -> str:
        return EMAIL

    def send(self, alert: NotifiableAlert) -> None:
        msg = build_email(alert, sender=self.sender, recipients=self.recipients,
                          dashboard_url=self.dashboard_url, timezone=self.timezone)
        smtp = smtplib.SMTP(self.host, self.port, timeout=self.timeout)
        try:
            if self.starttls:
                smtp.starttls(context=ssl.create_default_context())
            if self.user:
                smtp.login(self.user, self.password.get_secret_value() if self.password else "")
            smtp.send_message(msg)
        finally:
            # once the server took the message, a failed goodbye must not count as a
            # failed send (it would be sent again)
            with contextlib.suppress(OSError, smtplib.SMTPException):
                smtp.quit()
            smtp.close()


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    """A signed POST goes where it was configured to, or fails; it is never re-aimed."""

    def redirect_request(self, req: Any, fp: Any, code: int, msg: str, headers: Any,
                         newurl: str) -> None:
        return None


@dataclass(frozen=True)
class WebhookChannel:
    url: str
    dashboard_url: str
    secret: SecretStr | None = None
    timeout: float = TIMEOUT

    @property
    def name(self) -> str:
        return WEBHOOK

    def send(self, alert: NotifiableAlert) -> None:
        body = webhook_body(alert, self.dashboard_url)
        headers = {"Content-Type": "application/json", "User-Agent": "safeguard-notify"}
        if self.secret is not None:
            headers[SIGNATURE_HEADER] = signature(body, self.secret.get_secret_value())
        req = urllib.request.Request(self.url, data=body, headers=headers, method="POST")  # noqa: S310 - http(s) only, checked in webhook_url()
        opener = urllib.request.build_opener(_NoRedirect)
        with opener.open(req, timeout=self.timeout) as resp:
            if not 200 <= resp.status < 300:
                raise SendError(f"HTTP {resp.status}")


def describe(exc: BaseException) -> str:
    """A failure's reason for the table and the log: its kind and code, never the text a
    server sent back (it may quote addresses) and never the message."""
    if isinstance(exc, SendError):
        return str(exc)
    if isinstance(exc, urllib.error.HTTPError):
        return f"HTTP {exc.code}"
    if isinstance(exc, urllib.error.URLError) and isinstance(exc.reason, BaseException):
        return describe(exc.reason)
    if isinstance(exc, smtplib.SMTPResponseException):
        return f"{type(exc).__name__}: SMTP {exc.smtp_code}"
    if isinstance(exc, smtplib.SMTPRecipientsRefused):
        return f"SMTPRecipientsRefused: {len(exc.recipients)} recipient(s)"
    if isinstance(exc, TimeoutError | socket.timeout):
        return "timed out"
    if isinstance(exc, socket.gaierror):
        return "cannot resolve the host"
    if isinstance(exc, OSError) and exc.strerror:
        return f"{type(exc).__name__}: {exc.strerror}"
    return type(exc).__name__


class Notifier:
    """Sends due notifications off the owner's thread and records what happened."""

    def __init__(self, channels: Sequence[Channel], *, min_severity: int = 4,
                 max_age: timedelta = timedelta(hours=24),
                 max_event_age: timedelta = timedelta(days=7),
                 retry: RetryPolicy = DEFAULT_RETRY, close_timeout: float = TIMEOUT + 1) -> None:
        self.channels = {c.name: c for c in channels}
        self.min_severity = min_severity
        self.max_age = max_age
        self.max_event_age = max_event_age
        self.retry = retry
        self.close_timeout = close_timeout
        self._jobs: dict[str, queue.Queue[Due | None]] = {}
        self._threads: dict[str, threading.Thread] = {}
        self._results: queue.SimpleQueue[Outcome] = queue.SimpleQueue()
        self._in_flight: set[tuple[str, str]] = set()

    def tick(self, wh: Warehouse) -> int:
        """Record finished sends and queue the due ones; returns how many were queued.
        Cheap when nothing is due: one indexed query on the alerts table."""
        self._record(wh)
        due = due_notifications(wh.con, list(self.channels), now=datetime.now(UTC),
                                min_severity=self.min_severity, max_age=self.max_age,
                                max_event_age=self.max_event_age, retry=self.retry)
        queued = 0
        for d in due:
            key = (d.alert.alert_id, d.channel)
            jobs = self._queue(d.channel)
            if key in self._in_flight or jobs.qsize() >= MAX_QUEUED:
                continue
            self._in_flight.add(key)
            jobs.put(d)
            queued += 1
        return queued

    def close(self, wh: Warehouse | None = None) -> None:
        """Drop sends not yet started (still due in the table), let the ones under way
        finish within the socket timeout, and record their outcomes."""
        for jobs in self._jobs.values():
            while True:
                try:
                    dropped = jobs.get_nowait()
                except queue.Empty:
                    break
                if dropped is not None:
                    self._in_flight.discard((dropped.alert.alert_id, dropped.channel))
            jobs.put(None)
        for thread in self._threads.values():
            thread.join(self.close_timeout)
        self._jobs.clear()
        self._threads.clear()
        if wh is not None:
            self._record(wh)

    def _queue(self, channel: str) -> queue.Queue[Due | None]:
        jobs = self._jobs.get(channel)
        if jobs is None:
            jobs = self._jobs[channel] = queue.Queue()
            thread = threading.Thread(target=self._send_loop, args=(self.channels[channel], jobs),
                                      name=f"safeguard-notify-{channel}", daemon=True)
            self._threads[channel] = thread
            thread.start()
        return jobs

    def _send_loop(self, channel: Channel, jobs: queue.Queue[Due | None]) -> None:
        while (due := jobs.get()) is not None:
            alert_id = due.alert.alert_id
            try:
                channel.send(due.alert)
            except Exception as exc:  # any failure is recorded and retried, never raised
                reason = describe(exc)
                log.warning("%s notification of alert %s failed (attempt %d): %s",
                            channel.name, alert_id, due.attempts + 1, reason)
                self._results.put(Outcome(alert_id, channel.name, ok=False, error=reason))
            else:
                log.info("%s notification of alert %s sent", channel.name, alert_id)
                self._results.put(Outcome(alert_id, channel.name, ok=True))

    def _record(self, wh: Warehouse) -> None:
        outcomes: list[Outcome] = []
        while True:
            try:
                outcomes.append(self._results.get_nowait())
            except queue.Empty:
                break
        if not outcomes:
            return
        try:
            record_outcomes(wh.con, outcomes, datetime.now(UTC))
        except Exception:
            for o in outcomes:  # the warehouse refused them (disk full): keep for next tick
                self._results.put(o)
            raise
        for o in outcomes:
            self._in_flight.discard((o.alert_id, o.channel))
        wh.mark_days(set())  # no event day changed, but readers' snapshot should show these


def recipients(text: str | None) -> tuple[str, ...]:
    """`SAFEGUARD_NOTIFY_TO`: comma-separated addresses."""
    out = tuple(a.strip() for a in (text or "").split(",") if a.strip())
    for address in out:
        if "@" not in address or any(c in address for c in "\r\n<>\"' "):
            raise ConfigError(f"not an email address: {address!r}",
                              field=ENV_VARS["notify_to"])
    return out


def webhook_url(url: str) -> str:
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise ConfigError("must be an http:// or https:// URL", field=ENV_VARS["webhook_url"])
    return url


def notifier_from_settings(settings: Settings, *, timezone: str = "UTC") -> Notifier | None:
    """The notifier the settings ask for, or None when neither email nor webhook is set.
    Nothing connects here: the first send does."""
    channels: list[Channel] = []
    to = recipients(settings.notify_to)
    if settings.smtp_host or to:
        if not (settings.smtp_host and to):
            missing = "notify_to" if settings.smtp_host else "smtp_host"
            raise ConfigError(f"email notifications also need {ENV_VARS[missing]}")
        channels.append(EmailChannel(
            host=settings.smtp_host, port=settings.smtp_port,
            sender=settings.smtp_from or "safeguard@localhost", recipients=to,
            dashboard_url=settings.dashboard_url, user=settings.smtp_user,
            password=settings.smtp_password, starttls=settings.smtp_starttls,
            timezone=timezone))
        if settings.smtp_user and not settings.smtp_starttls:
            log.warning("SMTP login without STARTTLS sends the password in clear text")
    if settings.webhook_url:
        channels.append(WebhookChannel(url=webhook_url(settings.webhook_url),
                                       dashboard_url=settings.dashboard_url,
                                       secret=settings.webhook_secret))
    if not channels:
        return None
    return Notifier(channels, min_severity=settings.notify_min_severity,
                    max_age=timedelta(hours=settings.notify_max_age_hours),
                    max_event_age=timedelta(hours=settings.notify_max_event_age_hours))
