"""Severe alerts by email and webhook: what a message may say, when a send is due, and the
real thing — a `safeguard ingest --follow` process delivering to a local SMTP server
(aiosmtpd) and a local HTTP server within 5 s of the record that raised the alert."""

from __future__ import annotations

import json
import os
import re
import signal
import socket
import subprocess
import sys
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from email import message_from_bytes, policy
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import duckdb
import pytest
from pydantic import SecretStr

from pipelines.notify import Notifier, WebhookChannel, notifier_from_settings
from safeguard.alerts import Alert
from safeguard.errors import ConfigError
from safeguard.notification import (
    SIGNATURE_HEADER,
    NotifiableAlert,
    RetryPolicy,
    alert_link,
    build_email,
    email_subject,
    signature,
    signature_valid,
    webhook_body,
)
from safeguard.settings import Settings
from tests.conftest import REPO, poll, squid_line, stop_process, write_school
from warehouse.notifications import Outcome, due_notifications, notification_rows, record_outcomes
from warehouse.reader import WarehouseReader
from warehouse.writer import Warehouse

SECRET = "hook-secret-for-tests"  # noqa: S105 - a test fixture
DASHBOARD = "https://safeguard.test.example"
# what identifies the pupil or what they did in the test school and records below
PUPIL_DETAIL = ("P1", "Pupil One", "pupil1", "Year 7", "cutting myself", "cutting+myself",
                "google", "INC-", "At-risk", "Searches about", "10.10.1.7")

# ---------------------------------------------------------------- message builders


def _alert(**overrides: Any) -> Alert:
    t = datetime(2026, 11, 17, 10, 0, tzinfo=UTC)
    base: dict[str, Any] = {
        "alert_id": "0a1b2c3d4e5f60718293a4b5", "version": 2, "school_id": "test-school",
        "profile_id": "beaudesert-park", "rule_id": "bps-at-risk-pupil",
        "title": "At-risk pupil: Pupil One searched cutting myself", "clause_ids": ("c1",),
        "severity": 5, "category": "vulnerable-person", "routing": "dsl", "subject": "P1",
        "subject_kind": "person", "score": 5.0, "first_seen": t, "last_seen": t,
        "window_start": t, "window_end": t + timedelta(days=14), "event_count": 2,
        "evidence_event_ids": ("ev-cutting-myself-google", "ev-INC-1")}
    base.update(overrides)
    return Alert(**base)


RAISED = datetime(2026, 11, 17, 10, 0, 3, tzinfo=UTC)


def test_email_says_severity_category_time_and_link_and_nothing_about_the_pupil() -> None:
    n = NotifiableAlert.of(_alert(), RAISED)
    msg = build_email(n, sender="safeguard@school.test.example",
                      recipients=["dsl@school.test.example", "head@school.test.example"],
                      dashboard_url=DASHBOARD + "/", timezone="Europe/London")
    assert msg["Subject"] == "Safeguard: severity 5 alert \u2014 Vulnerable person / self-harm"
    assert msg["To"] == "dsl@school.test.example, head@school.test.example"
    body = msg.get_content()
    assert "Severity: 5 of 5" in body and "Category: Vulnerable person / self-harm" in body
    assert "Raised:   2026-11-17 10:00 GMT" in body
    assert f"{DASHBOARD}/alert?alert_id=0a1b2c3d4e5f60718293a4b5" in body
    whole = msg.as_string()
    for detail in PUPIL_DETAIL:
        assert detail not in whole, detail


def test_webhook_body_is_signed_and_carries_no_pupil_detail() -> None:
    n = NotifiableAlert.of(_alert(severity=4, category="bullying"), RAISED)
    body = webhook_body(n, DASHBOARD)
    assert json.loads(body) == {
        "alert_id": "0a1b2c3d4e5f60718293a4b5", "severity": 4, "category": "bullying",
        "school_id": "test-school", "raised_at": "2026-11-17T10:00:03+00:00",
        "link": f"{DASHBOARD}/alert?alert_id=0a1b2c3d4e5f60718293a4b5"}
    for detail in PUPIL_DETAIL:
        assert detail not in body.decode(), detail
    sig = signature(body, SECRET)
    assert re.fullmatch(r"sha256=[0-9a-f]{64}", sig)
    assert signature_valid(body, SECRET, sig)
    assert not signature_valid(body + b" ", SECRET, sig)
    assert not signature_valid(body, "another secret", sig)
    assert not signature_valid(body, SECRET, None)


def test_link_escapes_the_id_and_subject_names_the_category() -> None:
    assert alert_link("http://h:8501/", "a b&c") == "http://h:8501/alert?alert_id=a%20b%26c"
    n = NotifiableAlert("x", 4, "security", "s", RAISED)
    assert email_subject(n) == "Safeguard: severity 4 alert \u2014 Security"


def test_back_off_doubles_to_a_cap() -> None:
    r = RetryPolicy()
    assert [r.delay(a) for a in (1, 2, 3, 4)] == [2.0, 4.0, 8.0, 16.0]
    assert r.delay(30) == 900.0


# ---------------------------------------------------------------- settings


def test_notifications_are_off_unless_configured_and_half_settings_are_errors() -> None:
    assert notifier_from_settings(Settings()) is None
    with pytest.raises(ConfigError, match="SAFEGUARD_NOTIFY_TO"):
        notifier_from_settings(Settings(smtp_host="127.0.0.1"))
    with pytest.raises(ConfigError, match="SAFEGUARD_SMTP_HOST"):
        notifier_from_settings(Settings(notify_to="dsl@school.test.example"))
    with pytest.raises(ConfigError, match="http"):
        notifier_from_settings(Settings(webhook_url="file:///etc/passwd"))
    with pytest.raises(ConfigError, match="not an email address"):
        notifier_from_settings(Settings(smtp_host="h", notify_to="dsl@x, bcc:\r\nx@y"))
    settings = Settings.from_env({
        "SAFEGUARD_SMTP_HOST": "mail.test.example", "SAFEGUARD_SMTP_PORT": "2525",
        "SAFEGUARD_SMTP_STARTTLS": "true", "SAFEGUARD_SMTP_USER": "safeguard",
        "SAFEGUARD_SMTP_PASSWORD": "pw", "SAFEGUARD_NOTIFY_TO": "a@x.example, b@x.example",
        "SAFEGUARD_WEBHOOK_URL": "https://hooks.test.example/in",
        "SAFEGUARD_WEBHOOK_SECRET": SECRET, "SAFEGUARD_NOTIFY_MIN_SEVERITY": "5",
        "SAFEGUARD_DASHBOARD_URL": DASHBOARD, "SAFEGUARD_NOTIFY_MAX_AGE_HOURS": "2"})
    assert settings.smtp_port == 2525 and settings.smtp_starttls
    assert isinstance(settings.webhook_secret, SecretStr) and SECRET not in repr(settings)
    notifier = notifier_from_settings(settings)
    assert notifier is not None
    assert sorted(notifier.channels) == ["email", "webhook"]
    assert notifier.min_severity == 5 and notifier.max_age == timedelta(hours=2)


# ---------------------------------------------------------------- what is due (real DuckDB)


def test_due_once_per_alert_and_channel_recent_only_with_back_off(tmp_path: Path) -> None:
    now = datetime.now(UTC)
    fresh = now - timedelta(minutes=5)
    sev5 = _alert(alert_id="a5", version=1, first_seen=fresh, last_seen=fresh)
    sev4 = _alert(alert_id="a4", version=1, severity=4, first_seen=fresh, last_seen=fresh)
    sev3 = _alert(alert_id="a3", version=1, severity=3, first_seen=fresh, last_seen=fresh)
    old_raise = _alert(alert_id="old", version=1, first_seen=fresh, last_seen=fresh)
    month_ago = now - timedelta(days=30)
    old_events = _alert(alert_id="backfill", version=1, first_seen=month_ago,
                        last_seen=month_ago)  # old logs ingested now
    with Warehouse(tmp_path / "w.duckdb") as wh:
        wh.write_batch(alerts=[sev5, sev4, sev3, old_raise, old_events])
        con = wh.con
        # last year's alert, raised when it happened
        con.execute("UPDATE alerts SET raised_at = raised_at - INTERVAL 2 DAY "
                    "WHERE alert_id = 'old'")

        def due(at: datetime = now, **kw: Any) -> set[tuple[str, str, int]]:
            return {(d.alert.alert_id, d.channel, d.attempts)
                    for d in due_notifications(con, ["email", "webhook"], now=at, **kw)}

        assert due() == {("a5", "email", 0), ("a5", "webhook", 0),
                         ("a4", "email", 0), ("a4", "webhook", 0)}
        assert due(min_severity=5) == {("a5", "email", 0), ("a5", "webhook", 0)}
        assert {a for a, _, _ in due(max_age=timedelta(days=3))} == {"a5", "a4", "old"}
        assert {a for a, _, _ in due(max_event_age=timedelta(days=3650))} == {
            "a5", "a4", "backfill"}
        d = due_notifications(con, ["email"], now=now, min_severity=5)[0]
        assert d.alert == NotifiableAlert("a5", 5, "vulnerable-person", "test-school",
                                          d.alert.raised_at)

        record_outcomes(con, [Outcome("a5", "email", ok=True),
                              Outcome("a4", "email", ok=False, error="ConnectionRefusedError")],
                        now)
        assert due() == {("a5", "webhook", 0), ("a4", "webhook", 0)}  # a4 email: backing off
        assert ("a4", "email", 1) in due(now + timedelta(seconds=2))
        # the alert grows (a new version, same severity): still sent once
        wh.write_batch(alerts=[_alert(alert_id="a5", version=2, first_seen=fresh,
                                      last_seen=now, event_count=3)])
        assert ("a5", "email", 0) not in due(now + timedelta(hours=1))
        # a late duplicate failure does not undo a send
        record_outcomes(con, [Outcome("a5", "email", ok=False, error="timed out")], now)
        rows = {(r["alert_id"], r["channel"]): r for r in notification_rows(con)}
        assert rows["a5", "email"]["status"] == "sent" and rows["a5", "email"]["attempts"] == 1
        assert rows["a4", "email"]["status"] == "failed"
        assert rows["a4", "email"]["last_error"] == "ConnectionRefusedError"
        # retried until max_attempts, then left as failed
        retry = RetryPolicy(base=1, cap=1, max_attempts=3)
        record_outcomes(con, [Outcome("a4", "email", ok=False, error="x")] * 2, now)
        assert ("a4", "email", 3) not in due(now + timedelta(hours=1), retry=retry)
        record_outcomes(con, [Outcome("a4", "email", ok=True)], now)
        assert notification_rows(con, "a4")[0]["last_error"] == "x"  # kept for the record


# ---------------------------------------------------------------- local servers


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class Received:
    at: float  # time.monotonic() on arrival
    raw: bytes
    headers: dict[str, str] = field(default_factory=dict)

    @property
    def alert_id(self) -> str:
        m = re.search(rb"alert_id=([0-9a-f]+)", self.raw)
        assert m, self.raw
        return m.group(1).decode()


class MailServer:
    """aiosmtpd on 127.0.0.1, keeping every message with its arrival time."""

    def __init__(self, port: int) -> None:
        from aiosmtpd.controller import Controller

        self.messages: list[Received] = []

        server = self

        class Handler:
            async def handle_DATA(self, srv: Any, session: Any, envelope: Any) -> str:
                server.messages.append(Received(time.monotonic(), envelope.content,
                                                {"rcpt": ",".join(envelope.rcpt_tos)}))
                return "250 OK"

        self.controller = Controller(Handler(), hostname="127.0.0.1", port=port)

    def __enter__(self) -> MailServer:
        self.controller.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.controller.stop()

    def severity(self, n: int) -> list[Received]:
        return [m for m in self.messages if f"severity {n} alert".encode() in m.raw]


class HookServer:
    """http.server on 127.0.0.1 in a thread, keeping every POST with its arrival time."""

    def __init__(self, statuses: Sequence[int] = ()) -> None:
        self.requests: list[Received] = []
        self.statuses = list(statuses)  # answers to the first requests; then 204
        hook = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers["Content-Length"]))
                hook.requests.append(Received(time.monotonic(), body, dict(self.headers)))
                self.send_response(hook.statuses.pop(0) if hook.statuses else 204)
                self.end_headers()

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/safeguard"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self) -> HookServer:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.shutdown()
        self.server.server_close()

    def severity(self, n: int) -> list[Received]:
        return [r for r in self.requests if json.loads(r.raw)["severity"] == n]


def test_notifier_records_a_refused_webhook_and_retries_it_off_the_owner_thread(
        tmp_path: Path) -> None:
    now = datetime.now(UTC)
    with HookServer(statuses=[500]) as hook, Warehouse(tmp_path / "w.duckdb") as wh:
        wh.write_batch(alerts=[_alert(alert_id="a5", version=1, first_seen=now, last_seen=now),
                               _alert(alert_id="a3", version=1, severity=3, first_seen=now,
                                      last_seen=now)])
        notifier = Notifier([WebhookChannel(hook.url, DASHBOARD, SecretStr(SECRET))],
                            retry=RetryPolicy(base=0.2, cap=0.2))
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:  # the owner's loop, at its poll interval
            started = time.monotonic()
            notifier.tick(wh)
            assert time.monotonic() - started < 0.5  # a tick never waits on the network
            rows = notification_rows(wh.con)
            if rows and rows[0]["status"] == "sent":
                break
            time.sleep(0.05)
        notifier.close(wh)
        assert [(r["alert_id"], r["status"], r["attempts"], r["last_error"])
                for r in notification_rows(wh.con)] == [("a5", "sent", 2, "HTTP 500")]
        assert [json.loads(r.raw)["alert_id"] for r in hook.requests] == ["a5", "a5"]


# ---------------------------------------------------------------- the follower, for real

INCIDENT_HEADER = ("incident_id,occurred_at,reported_at,reporter,category,pupils,description,"
                   "actions,status\n")


@dataclass
class School:
    root: Path
    school: Path
    log: Path
    incidents: Path
    db: Path

    def argv(self) -> list[str]:
        return [sys.executable, "-m", "safeguard.cli", "ingest", "--school", str(self.school),
                "--input", f"filter:squid:{self.log}", "--input", f"incident:csv:{self.incidents}",
                "--embedded", "--db", str(self.db), "--follow"]

    def search(self, user: str, terms: str) -> None:
        """A pupil's web search, logged now by the proxy."""
        with self.log.open("a") as fh:
            fh.write(squid_line(ts=time.time(), user=user,
                                url=f"http://www.google.com/search?q={terms}") + "\n")

    def bullying_report(self, n: int, pupil: str) -> float:
        """A bullying incident about `pupil`, recorded now; returns when it was appended."""
        at = datetime.now(UTC).isoformat(timespec="seconds")
        with self.incidents.open("a") as fh:
            fh.write(f'INC-{n},{at},{at},S1,bullying,{pupil}:victim,'
                     f'"Pupil One was called names",Parents told,open\n')
        return time.monotonic()

    def notifications(self) -> list[dict[str, object]]:
        return notification_rows(WarehouseReader(self.db).connect())


@pytest.fixture
def school(tmp_path: Path) -> School:
    s = School(tmp_path, write_school(tmp_path / "school"), tmp_path / "access.log",
               tmp_path / "incidents.csv", tmp_path / "w.duckdb")
    s.log.write_text("")
    s.incidents.write_text(INCIDENT_HEADER)
    return s


class Follower:
    """`safeguard ingest --follow` subprocesses, stopped by PID (SIGTERM) at teardown."""

    def __init__(self, school: School, env: dict[str, str]) -> None:
        self.school, self.env = school, env
        self.procs: list[subprocess.Popen[bytes]] = []
        self.runs = 0

    def start(self) -> subprocess.Popen[bytes]:
        self.runs += 1
        log = (self.school.root / f"follower{self.runs}.log").open("wb")
        proc = subprocess.Popen(self.school.argv(), cwd=REPO, env=self.env, stdout=log,
                                stderr=subprocess.STDOUT)
        self.procs.append(proc)
        return proc

    def stop(self, proc: subprocess.Popen[bytes]) -> None:
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=30) == 0

    def wait(self, check: Callable[[], Any], what: str, timeout: float = 90) -> Any:
        return poll(check, timeout, what, [p for p in self.procs if p.poll() is None] or
                    self.procs[-1:], self.school.root)

    def close(self) -> None:
        for proc in self.procs:
            stop_process(proc)


def _env(smtp_port: int, hook: HookServer) -> dict[str, str]:
    return {**os.environ, "PYTHONPATH": str(REPO),
            "SAFEGUARD_SMTP_HOST": "127.0.0.1", "SAFEGUARD_SMTP_PORT": str(smtp_port),
            "SAFEGUARD_SMTP_FROM": "safeguard@school.test.example",
            "SAFEGUARD_NOTIFY_TO": "dsl@school.test.example",
            "SAFEGUARD_WEBHOOK_URL": hook.url, "SAFEGUARD_WEBHOOK_SECRET": SECRET,
            "SAFEGUARD_DASHBOARD_URL": DASHBOARD}


@pytest.fixture
def follower_for(school: School) -> Iterator[Callable[[dict[str, str]], Follower]]:
    made: list[Follower] = []

    def make(env: dict[str, str]) -> Follower:
        made.append(Follower(school, env))
        return made[-1]

    yield make
    for f in made:
        f.close()


def _assert_no_pupil_detail(raw: bytes, *, email: bool = False) -> None:
    text = raw.decode("utf-8", "replace")
    if email:  # what a reader sees: decoded headers and body
        msg = message_from_bytes(raw, policy=policy.default)
        text = "\n".join(f"{k}: {v}" for k, v in msg.items())
        text += "\n" + msg.get_body().get_content()  # type: ignore[union-attr]
    for detail in PUPIL_DETAIL:
        assert detail not in text, detail


@pytest.mark.slow
def test_severity_5_alert_reaches_email_and_webhook_within_5_s(
        school: School, follower_for: Callable[[dict[str, str]], Follower]) -> None:
    port = free_port()
    with MailServer(port) as mail, HookServer() as hook:
        follower = follower_for(_env(port, hook))
        follower.start()
        # a self-harm search: a severity-4 alert, which also shows the follower is running
        school.search("pupil1", "cutting+myself")
        follower.wait(lambda: mail.severity(4) and hook.severity(4), "the severity-4 alert")
        # the bullying report completes the at-risk pattern: severity 5
        appended = school.bullying_report(1, "P1")
        follower.wait(lambda: mail.severity(5) and hook.severity(5), "the severity-5 alert")
        email, post = mail.severity(5)[0], hook.severity(5)[0]
        latency = {"email": email.at - appended, "webhook": post.at - appended}
        print(f"severity-5 delivery latency: {latency}")
        assert max(latency.values()) < 5.0, latency

        msg = message_from_bytes(email.raw, policy=policy.default)
        assert msg["Subject"] == "Safeguard: severity 5 alert \u2014 Vulnerable person / self-harm"
        assert email.headers["rcpt"] == "dsl@school.test.example"
        body = msg.get_body().get_content()  # type: ignore[union-attr]
        assert f"{DASHBOARD}/alert?alert_id={email.alert_id}" in body
        _assert_no_pupil_detail(email.raw, email=True)

        assert post.headers["Content-Type"] == "application/json"
        assert signature_valid(post.raw, SECRET, post.headers[SIGNATURE_HEADER])
        payload = json.loads(post.raw)
        assert set(payload) == {"alert_id", "severity", "category", "school_id", "raised_at",
                                "link"}
        assert payload["alert_id"] == email.alert_id and payload["school_id"] == "test-school"
        assert payload["category"] == "vulnerable-person"
        _assert_no_pupil_detail(post.raw)
        # the bullying report is itself a severity-4 alert: three alerts, each sent once
        follower.wait(lambda: len(mail.messages) == 3 and len(hook.requests) == 3,
                      "the bullying alert")
        def six_sent() -> list[dict[str, object]] | None:
            rows = [r for r in school.notifications() if r["status"] == "sent"]
            return rows if len(rows) == 6 else None
        sent = follower.wait(six_sent, "six sends recorded")
        assert {r["attempts"] for r in sent} == {1}


@pytest.mark.slow
def test_dead_mail_server_does_not_stop_ingest_retry_delivers_and_restart_repeats_nothing(
        school: School, follower_for: Callable[[dict[str, str]], Follower]) -> None:
    port = free_port()  # nothing listens here yet: connection refused
    with HookServer() as hook:
        follower = follower_for(_env(port, hook))
        first = follower.start()
        school.search("pupil1", "cutting+myself")
        follower.wait(lambda: hook.severity(4), "the webhook of the severity-4 alert")

        def email_failed() -> list[dict[str, object]]:
            return [r for r in school.notifications()
                    if r["channel"] == "email" and r["status"] == "failed"]
        failed = follower.wait(email_failed, "the failed email to be recorded")
        assert failed[0]["attempts"] >= 1
        assert failed[0]["last_error"] == "ConnectionRefusedError: Connection refused"
        # ingest goes on: the next records still raise alerts, and the webhook still works
        school.bullying_report(1, "P1")
        follower.wait(lambda: hook.severity(5), "the severity-5 alert while mail is down")
        follower.wait(lambda: len(email_failed()) == 3, "all three emails failed")
        assert first.poll() is None

        with MailServer(port) as mail:  # the mail server comes back: retries deliver
            follower.wait(lambda: len({m.alert_id for m in mail.messages}) == 3,
                          "the three alerts by email after the server came up", timeout=60)

            def all_sent() -> bool:
                rows = school.notifications()
                return len(rows) == 6 and all(r["status"] == "sent" for r in rows)
            follower.wait(all_sent, "every send recorded as sent")
            follower.stop(first)
            con = duckdb.connect(str(school.db), read_only=True)
            rows = notification_rows(con)
            con.close()
            retried = [r for r in rows if r["channel"] == "email"]
            assert all(r["attempts"] >= 2 for r in retried), retried  # type: ignore[operator]
            assert all(r["last_error"] == "ConnectionRefusedError: Connection refused"
                       for r in retried)

            # a restart sends nothing again, even when an alert grows a new version
            follower.start()
            school.search("pupil1", "how+to+cut")  # same pupil, same day: the alert grows
            school.search("pupil2", "self+harm")   # another pupil: a new alert
            follower.wait(lambda: len({m.alert_id for m in mail.messages}) == 4
                          and len({r.alert_id for r in hook.requests}) == 4,
                          "the new pupil's alert")
            by_email = Counter(m.alert_id for m in mail.messages)
            by_hook = Counter(json.loads(r.raw)["alert_id"] for r in hook.requests)
            assert set(by_email.values()) == {1} and set(by_hook.values()) == {1}, (
                by_email, by_hook)
            for m in mail.messages:
                _assert_no_pupil_detail(m.raw, email=True)


# ---------------------------------------------------------------- the Kafka sink, for real


@pytest.mark.kafka
def test_the_sink_sends_a_severity_5_alert_within_5_s(
        tmp_path: Path, kafka_bootstrap: str,
        spawn: Callable[..., subprocess.Popen[bytes]]) -> None:
    import uuid

    import orjson
    from kafka import KafkaProducer

    from streams.topics import Topics, ensure_topics

    prefix = f"t{uuid.uuid4().hex[:8]}."
    topics = Topics(prefix)
    ensure_topics(kafka_bootstrap, topics, partitions=1)
    producer = KafkaProducer(bootstrap_servers=kafka_bootstrap, acks="all")
    now = datetime.now(UTC)

    def send(alert: Alert) -> float:
        producer.send(topics.alerts, key=alert.alert_id.encode(),
                      value=orjson.dumps(alert.to_dict()))
        producer.flush(timeout=30)
        return time.monotonic()

    port = free_port()
    with MailServer(port) as mail, HookServer() as hook:
        env = {**_env(port, hook), "SAFEGUARD_TOPIC_PREFIX": prefix}
        sink = spawn("sink", "--broker", kafka_bootstrap, "--db", str(tmp_path / "k.duckdb"),
                     "--partitions", "1", env=env, name="sink")
        try:
            send(_alert(alert_id="warmup", severity=4, version=1, first_seen=now,
                        last_seen=now))
            poll(lambda: mail.severity(4) and hook.severity(4), 120, "the sink's first alert",
                 [sink], tmp_path)
            sent = send(_alert(alert_id="severe", version=1, first_seen=now, last_seen=now))
            poll(lambda: mail.severity(5) and hook.severity(5), 30, "the severity-5 alert",
                 [sink], tmp_path)
        finally:
            producer.close()
        latency = {"email": mail.severity(5)[0].at - sent, "webhook": hook.severity(5)[0].at - sent}
        print(f"sink severity-5 delivery latency: {latency}")
        assert max(latency.values()) < 5.0, latency
        assert signature_valid(hook.severity(5)[0].raw, SECRET,
                               hook.severity(5)[0].headers[SIGNATURE_HEADER])
        _assert_no_pupil_detail(mail.severity(5)[0].raw, email=True)
        _assert_no_pupil_detail(hook.severity(5)[0].raw)
