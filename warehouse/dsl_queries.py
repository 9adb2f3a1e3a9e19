"""The dashboard's alert, triage and audit queries (parameterised; role scoping is the
caller's: `pipelines.access` decides which routings and columns a person may see)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import duckdb
import pandas as pd

# the latest directory snapshot's year group per person (termly figures keep their own)
_YEAR_GROUPS = """
    year_groups AS (
        SELECT p.person_id, p.year_group FROM directory_people p
        WHERE p.snapshot_id = (SELECT snapshot_id FROM directory_snapshots
                               ORDER BY taken_at DESC, snapshot_id LIMIT 1))"""


def alert_queue(con: duckdb.DuckDBPyConnection, *, routings: Sequence[str],
                severities: Sequence[int] = (), categories: Sequence[str] = (),
                statuses: Sequence[str] = (), year_groups: Sequence[str] = (),
                limit: int = 500) -> pd.DataFrame:
    """The live queue: most severe first, then newest; every filter empty means 'all'."""
    return con.execute(
        f"""WITH {_YEAR_GROUPS}
            SELECT a.alert_id, a.severity, a.category, a.title, a.subject, a.subject_kind,
                   y.year_group, a.status, a.routing, a.rule_id, a.clause_ids, a.event_count,
                   a.first_seen, a.last_seen, a.raised_at
            FROM alerts a LEFT JOIN year_groups y ON y.person_id = a.subject
            WHERE list_contains($routings, a.routing)
              AND (len($sev) = 0 OR list_contains($sev, a.severity::INTEGER))
              AND (len($cat) = 0 OR list_contains($cat, a.category))
              AND (len($status) = 0 OR list_contains($status, a.status))
              AND (len($years) = 0 OR list_contains($years, y.year_group))
            ORDER BY a.severity DESC, a.last_seen DESC, a.alert_id
            LIMIT $limit""",  # noqa: S608 - the CTE is a fixed string
        {"routings": list(routings), "sev": [int(s) for s in severities],
         "cat": list(categories), "status": list(statuses), "years": list(year_groups),
         "limit": limit}).df()


def queue_choices(con: duckdb.DuckDBPyConnection, routings: Sequence[str]) -> dict[str, list[Any]]:
    """The values the queue's filters offer (only those present in the role's alerts)."""
    rows = con.execute(
        f"""WITH {_YEAR_GROUPS}
            SELECT list(DISTINCT a.category ORDER BY a.category),
                   list(DISTINCT a.status ORDER BY a.status),
                   list(DISTINCT y.year_group ORDER BY y.year_group)
                       FILTER (WHERE y.year_group IS NOT NULL)
            FROM alerts a LEFT JOIN year_groups y ON y.person_id = a.subject
            WHERE list_contains(?, a.routing)""",  # noqa: S608 - fixed CTE
        [list(routings)]).fetchone()
    cats, statuses, years = rows if rows else ([], [], [])
    return {"category": cats or [], "status": statuses or [], "year_group": years or []}


def alert_row(con: duckdb.DuckDBPyConnection, alert_id: str) -> dict[str, Any] | None:
    cur = con.execute(
        f"""WITH {_YEAR_GROUPS}
            SELECT a.*, y.year_group FROM alerts a
            LEFT JOIN year_groups y ON y.person_id = a.subject
            WHERE a.alert_id = ?""", [alert_id])  # noqa: S608 - fixed CTE
    row = cur.fetchone()
    if row is None:
        return None
    return dict(zip([d[0] for d in cur.description], row, strict=True))


def alert_actions(con: duckdb.DuckDBPyConnection, alert_id: str) -> pd.DataFrame:
    """The alert's triage steps in the order people took them."""
    return con.execute(
        """SELECT acted_at, action, actor, actor_role, assignee, outcome, note
           FROM alert_actions WHERE alert_id = ? ORDER BY acted_at, action_id""",
        [alert_id]).df()


def routing_of(con: duckdb.DuckDBPyConnection, alert_id: str) -> str | None:
    row = con.execute("SELECT routing FROM alerts WHERE alert_id = ?", [alert_id]).fetchone()
    return str(row[0]) if row else None


def subject_routings(con: duckdb.DuckDBPyConnection, person_id: str) -> set[str]:
    rows = con.execute("SELECT DISTINCT routing FROM alerts WHERE subject = ?",
                       [person_id]).fetchall()
    return {str(r[0]) for r in rows}


def audit_log(con: duckdb.DuckDBPyConnection, *, limit: int = 1_000,
              subject_kind: str | None = None) -> pd.DataFrame:
    """Who did or viewed what, newest first."""
    return con.execute(
        """SELECT logged_at, actor, actor_role, action, subject_kind, subject_id, detail
           FROM audit_log WHERE (? IS NULL OR subject_kind = ?)
           ORDER BY logged_at DESC, audit_id LIMIT ?""",
        [subject_kind, subject_kind, limit]).df()


def throughput(con: duckdb.DuckDBPyConnection, *, minutes: int = 60) -> pd.DataFrame:
    """Records received per minute and source over the last `minutes` of ingest."""
    return con.execute(
        """WITH last AS (SELECT max(received_at) AS t FROM ingest_batches)
           SELECT date_trunc('minute', received_at) AS minute, source,
                  sum(records_in)::BIGINT AS records_in,
                  sum(dead_lettered)::BIGINT AS dead_lettered
           FROM ingest_batches, last
           WHERE received_at >= last.t - to_minutes(?::BIGINT)
           GROUP BY ALL ORDER BY minute, source""", [minutes]).df()


def rule_setting_history(con: duckdb.DuckDBPyConnection, school_id: str) -> pd.DataFrame:
    return con.execute(
        """SELECT changed_at, rule_id, settings, previous, changed_by, reason
           FROM rule_setting_history WHERE school_id = ? ORDER BY changed_at DESC""",
        [school_id]).df()


def current_rule_settings(con: duckdb.DuckDBPyConnection, school_id: str) -> dict[str, str]:
    rows = con.execute("SELECT rule_id, settings FROM rule_settings WHERE school_id = ?",
                       [school_id]).fetchall()
    return {str(r[0]): str(r[1]) for r in rows}


def alert_ids_with_routing(con: duckdb.DuckDBPyConnection, routings: Sequence[str]) -> list[str]:
    rows = con.execute("SELECT alert_id FROM alerts WHERE list_contains(?, routing)",
                       [list(routings)]).fetchall()
    return [str(r[0]) for r in rows]
