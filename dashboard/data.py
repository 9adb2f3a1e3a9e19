"""The dashboard's data access: every page reads through here, never SQL of its own."""

from __future__ import annotations

import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd
import streamlit as st

from safeguard.cli import dashboard_settings
from warehouse import queries
from warehouse.reader import WarehouseReader


@dataclass(frozen=True)
class DashboardData:
    """Read-only views over the warehouse's latest published snapshot."""

    reader: WarehouseReader

    def manifest(self) -> dict[str, Any] | None:
        return self.reader.manifest()

    def alerts(self, min_severity: int = 1, routing: str | None = None) -> pd.DataFrame:
        return queries.list_alerts(self.reader.connect(), min_severity=min_severity,
                                   routing=routing)

    def summary(self) -> dict[str, int]:
        return queries.alert_summary(self.reader.connect())

    def accounting(self) -> pd.DataFrame:
        return queries.ingest_accounting(self.reader.connect())

    def dead_letter_reasons(self) -> pd.DataFrame:
        return queries.dead_letter_reasons(self.reader.connect())

    def quality(self) -> pd.DataFrame:
        return queries.quality_summary(self.reader.connect())


@st.cache_resource
def _data(db_path: str) -> DashboardData:
    return DashboardData(WarehouseReader(Path(db_path)))


def get_data() -> DashboardData:
    settings = dashboard_settings(sys.argv[1:])
    return _data(str(settings.db_path))
