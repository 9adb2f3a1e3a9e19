"""The frozen settings object, built once by the composition root (`safeguard.cli`).

Environment variable names are defined here and nowhere else; secrets are `SecretStr`
so they never print. Everything below the CLI receives a `Settings`, never `os.environ`.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, SecretStr

ENV_VARS: Mapping[str, str] = {
    "broker": "SAFEGUARD_BROKER",
    "db_path": "SAFEGUARD_DB",
    "school_dir": "SAFEGUARD_SCHOOL",
    "data_dir": "SAFEGUARD_DATA_DIR",
    "cache_dir": "SAFEGUARD_CACHE_DIR",
    "topic_prefix": "SAFEGUARD_TOPIC_PREFIX",
    "dashboard_host": "SAFEGUARD_DASHBOARD_HOST",
    "dashboard_port": "SAFEGUARD_DASHBOARD_PORT",
    "smtp_host": "SAFEGUARD_SMTP_HOST",
    "smtp_port": "SAFEGUARD_SMTP_PORT",
    "smtp_user": "SAFEGUARD_SMTP_USER",
    "smtp_password": "SAFEGUARD_SMTP_PASSWORD",
    "smtp_starttls": "SAFEGUARD_SMTP_STARTTLS",
    "smtp_from": "SAFEGUARD_SMTP_FROM",
    "notify_to": "SAFEGUARD_NOTIFY_TO",
    "webhook_url": "SAFEGUARD_WEBHOOK_URL",
    "webhook_secret": "SAFEGUARD_WEBHOOK_SECRET",
    "dashboard_url": "SAFEGUARD_DASHBOARD_URL",
    "notify_min_severity": "SAFEGUARD_NOTIFY_MIN_SEVERITY",
    "notify_max_age_hours": "SAFEGUARD_NOTIFY_MAX_AGE_HOURS",
    "notify_max_event_age_hours": "SAFEGUARD_NOTIFY_MAX_EVENT_AGE_HOURS",
}


class Settings(BaseModel):
    """Where things are and how to reach them; one instance per process."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    broker: str | None = None
    db_path: Path = Path("safeguard.duckdb")
    school_dir: Path | None = None
    data_dir: Path = Path(".safeguard")
    cache_dir: Path = Path.home() / ".cache" / "safeguard"
    topic_prefix: str = ""
    dashboard_host: str = "127.0.0.1"
    dashboard_port: int = 8501
    # severe-alert notifications (off unless smtp_host + notify_to, or webhook_url, are set)
    smtp_host: str | None = None
    smtp_port: int = Field(default=25, ge=1, le=65535)
    smtp_user: str | None = None
    smtp_password: SecretStr | None = None
    smtp_starttls: bool = False
    smtp_from: str | None = None
    notify_to: str | None = None  # comma-separated addresses
    webhook_url: str | None = None
    webhook_secret: SecretStr | None = None  # signs the webhook body (HMAC-SHA256)
    dashboard_url: str = "http://127.0.0.1:8501"  # base of the link in a notification
    notify_min_severity: int = Field(default=4, ge=1, le=5)
    notify_max_age_hours: float = Field(default=24.0, gt=0)  # since the alert was raised
    notify_max_event_age_hours: float = Field(default=168.0, gt=0)  # since its last evidence

    @classmethod
    def from_env(cls, environ: Mapping[str, str], **overrides: Any) -> Settings:
        """Environment first, then explicit overrides (command-line flags) that are not None."""
        values: dict[str, Any] = {}
        for name, var in ENV_VARS.items():
            if environ.get(var):
                values[name] = environ[var]
        values.update({k: v for k, v in overrides.items() if v is not None})
        return cls(**values)
