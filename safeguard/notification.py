"""What a severe-alert notification says: the email and the webhook body (pure, no I/O).

An email or a webhook leaves the school's systems and lands in inboxes, phones and chat
tools that keep copies, so a notification carries no pupil detail at all: no subject or
pupil id, name, year group, alert title (it may be written around a name), URL, search
term or evidence. It says how severe, what kind, when, and where to look: a link to the
alert in the dashboard, behind its sign-in. `NotifiableAlert` holds only those fields,
so a builder cannot leak what it is never given.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from email.message import EmailMessage
from email.utils import format_datetime
from typing import Any
from urllib.parse import quote
from zoneinfo import ZoneInfo

from safeguard.alerts import Alert

EMAIL = "email"
WEBHOOK = "webhook"
CHANNELS = (EMAIL, WEBHOOK)
SIGNATURE_HEADER = "X-Safeguard-Signature"

CATEGORY_LABELS: Mapping[str, str] = {
    "vulnerable-person": "Vulnerable person / self-harm",
    "bullying": "Bullying",
    "sexual": "Sexual content or contact",
    "violence": "Violence",
    "extremism": "Extremism",
    "offensive": "Offensive content",
    "security": "Security",
    "conduct": "Conduct",
    "assets": "Devices and assets",
}


@dataclass(frozen=True, slots=True)
class NotifiableAlert:
    """The only facts of an alert a notification may carry."""

    alert_id: str
    severity: int
    category: str
    school_id: str
    raised_at: datetime  # UTC; naive values are taken as UTC

    @classmethod
    def of(cls, alert: Alert, raised_at: datetime) -> NotifiableAlert:
        return cls(alert_id=alert.alert_id, severity=alert.severity, category=alert.category,
                   school_id=alert.school_id, raised_at=raised_at)

    @property
    def raised_utc(self) -> datetime:
        ts = self.raised_at
        return ts.replace(tzinfo=UTC) if ts.tzinfo is None else ts.astimezone(UTC)


def category_label(category: str) -> str:
    return CATEGORY_LABELS.get(category, category.replace("-", " ").capitalize())


def alert_link(dashboard_url: str, alert_id: str) -> str:
    """`<dashboard_url>/alert?alert_id=<id>`; the dashboard asks for sign-in."""
    return f"{dashboard_url.rstrip('/')}/alert?alert_id={quote(alert_id, safe='')}"


def email_subject(alert: NotifiableAlert) -> str:
    return f"Safeguard: severity {alert.severity} alert \u2014 {category_label(alert.category)}"


def email_body(alert: NotifiableAlert, dashboard_url: str, timezone: str = "UTC") -> str:
    raised = alert.raised_utc.astimezone(ZoneInfo(timezone))
    return (
        f"A severity {alert.severity} alert has been raised in Safeguard.\n"
        "\n"
        f"Severity: {alert.severity} of 5\n"
        f"Category: {category_label(alert.category)}\n"
        f"Raised:   {raised:%Y-%m-%d %H:%M} {raised.tzname()}\n"
        "\n"
        "Open the alert (sign-in required):\n"
        f"{alert_link(dashboard_url, alert.alert_id)}\n"
        "\n"
        "For the pupil's safety this email holds no details; they are in Safeguard.\n")


def build_email(alert: NotifiableAlert, *, sender: str, recipients: Sequence[str],
                dashboard_url: str, timezone: str = "UTC") -> EmailMessage:
    msg = EmailMessage()
    msg["Subject"] = email_subject(alert)
    msg["From"] = sender
    msg["To"] = ", ".join(recipients)
    msg["Date"] = format_datetime(alert.raised_utc)
    # one message per alert and school, whatever retries happen (receivers can dedupe)
    msg["Message-ID"] = f"<{alert.alert_id}.{quote(alert.school_id, safe='')}@safeguard>"
    msg.set_content(email_body(alert, dashboard_url, timezone))
    return msg


def webhook_payload(alert: NotifiableAlert, dashboard_url: str) -> dict[str, Any]:
    return {
        "alert_id": alert.alert_id,
        "severity": alert.severity,
        "category": alert.category,
        "school_id": alert.school_id,
        "raised_at": alert.raised_utc.isoformat(),
        "link": alert_link(dashboard_url, alert.alert_id),
    }


def webhook_body(alert: NotifiableAlert, dashboard_url: str) -> bytes:
    """The exact bytes sent (and signed): compact JSON with sorted keys."""
    return json.dumps(webhook_payload(alert, dashboard_url), sort_keys=True,
                      separators=(",", ":")).encode()


def signature(body: bytes, secret: str) -> str:
    """`sha256=<hex>`: HMAC-SHA256 of the body with the shared secret."""
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def signature_valid(body: bytes, secret: str, header: str | None) -> bool:
    """What a receiver checks (constant-time comparison)."""
    return header is not None and hmac.compare_digest(signature(body, secret), header)


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    """A failed send is retried after 2, 4, 8, ... seconds (at most 15 minutes apart),
    `max_attempts` times in all (about an hour with the defaults), then left as failed."""

    base: float = 2.0
    cap: float = 900.0
    max_attempts: int = 12

    def delay(self, attempts: int) -> float:
        """Seconds to wait after `attempts` failed tries."""
        return float(min(self.cap, self.base * 2 ** max(0, attempts - 1)))


DEFAULT_RETRY = RetryPolicy()
