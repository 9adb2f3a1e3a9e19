"""The frozen settings object, built once by the composition root (`safeguard.cli`).

Environment variable names are defined here and nowhere else; secrets are `SecretStr`
so they never print. Everything below the CLI receives a `Settings`, never `os.environ`.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, SecretStr

ENV_VARS: Mapping[str, str] = {
    "broker": "SAFEGUARD_BROKER",
    "db_path": "SAFEGUARD_DB",
    "school_dir": "SAFEGUARD_SCHOOL",
    "data_dir": "SAFEGUARD_DATA_DIR",
    "cache_dir": "SAFEGUARD_CACHE_DIR",
    "topic_prefix": "SAFEGUARD_TOPIC_PREFIX",
    "dashboard_host": "SAFEGUARD_DASHBOARD_HOST",
    "dashboard_port": "SAFEGUARD_DASHBOARD_PORT",
    "smtp_password": "SAFEGUARD_SMTP_PASSWORD",
    "webhook_secret": "SAFEGUARD_WEBHOOK_SECRET",
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
    smtp_password: SecretStr | None = None
    webhook_secret: SecretStr | None = None

    @classmethod
    def from_env(cls, environ: Mapping[str, str], **overrides: Any) -> Settings:
        """Environment first, then explicit overrides (command-line flags) that are not None."""
        values: dict[str, Any] = {}
        for name, var in ENV_VARS.items():
            if environ.get(var):
                values[name] = environ[var]
        values.update({k: v for k, v in overrides.items() if v is not None})
        return cls(**values)
