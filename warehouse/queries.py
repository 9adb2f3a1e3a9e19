"""Every read query of the product, as functions with parameterised SQL."""

from __future__ import annotations

from typing import Any

import duckdb
import pandas as pd


def list_alerts(con: duckdb.DuckDBPyConnection, *, min_severity: int = 1,
                routing: str | None = None, limit: int = 500) -> pd.DataFrame:
    """Alerts, most severe and newest first."""
    return con.execute(
        """SELECT alert_id, severity, category, title, rule_id, clause_ids, subject,
                  subject_kind, routing, event_count, score, first_seen, last_seen,
                  evidence_event_ids, status, profile_id, school_id, version
           FROM alerts
           WHERE severity >= ? AND (? IS NULL OR routing = ?)
           ORDER BY severity DESC, last_seen DESC, alert_id
           LIMIT ?""",
        [min_severity, routing, routing, limit]).df()


def alerts_as_records(con: duckdb.DuckDBPyConnection) -> list[dict[str, Any]]:
    """All alerts as plain dicts with ISO timestamps, in a stable order (for `--json`)."""
    cur = con.execute(
        """SELECT alert_id, rule_id, clause_ids, severity, category, subject, subject_kind,
                  routing, title, profile_id, school_id, score, event_count,
                  first_seen, last_seen, window_start, window_end, evidence_event_ids, version
           FROM alerts ORDER BY first_seen, alert_id""")
    names = [d[0] for d in cur.description]
    out = []
    for row in cur.fetchall():
        rec = dict(zip(names, row, strict=True))
        for key in ("first_seen", "last_seen", "window_start", "window_end"):
            rec[key] = rec[key].isoformat() + "Z"
        out.append(rec)
    return out


def alert_summary(con: duckdb.DuckDBPyConnection) -> dict[str, int]:
    row = con.execute(
        """SELECT count(*), count(*) FILTER (WHERE severity >= 4),
                  count(*) FILTER (WHERE status = 'new')
           FROM alerts""").fetchone()
    total, severe, new = row if row else (0, 0, 0)
    return {"total": int(total), "severe": int(severe), "new": int(new)}


def ingest_accounting(con: duckdb.DuckDBPyConnection) -> pd.DataFrame:
    """Per source: records in, parsed, dead-lettered (records_in = parsed + dead)."""
    return con.execute(
        """SELECT source, count(*) AS batches, sum(records_in)::BIGINT AS records_in,
                  sum(events_parsed)::BIGINT AS events_parsed,
                  sum(dead_lettered)::BIGINT AS dead_lettered
           FROM ingest_batches GROUP BY source ORDER BY source""").df()


def dead_letter_reasons(con: duckdb.DuckDBPyConnection, limit: int = 50) -> pd.DataFrame:
    return con.execute(
        """SELECT dataset, stage, reason, count(*) AS n, min(source) AS example_source,
                  min(line_no) AS example_line
           FROM dead_letters GROUP BY dataset, stage, reason
           ORDER BY n DESC, reason LIMIT ?""", [limit]).df()


def count_events(con: duckdb.DuckDBPyConnection) -> int:
    row = con.execute("SELECT count(*) FROM events").fetchone()
    return int(row[0]) if row else 0


def quality_summary(con: duckdb.DuckDBPyConnection) -> pd.DataFrame:
    """Per source and expectation: batches checked, batches failing, rows failing."""
    return con.execute(
        """SELECT source, expectation, column_name, severity,
                  count(*) AS batches, count(*) FILTER (WHERE NOT success) AS failed_batches,
                  sum(unexpected_count)::BIGINT AS rows_failing,
                  sum(element_count)::BIGINT AS rows_checked, max(checked_at) AS last_checked
           FROM dq_results GROUP BY ALL
           ORDER BY failed_batches DESC, rows_failing DESC, source, expectation, column_name"""
    ).df()


def alert_evidence(con: duckdb.DuckDBPyConnection, alert_id: str) -> pd.DataFrame:
    """The alert's correlated events in time order (the evidence timeline); the alert's
    window bounds the scan, so the day files outside it are never read."""
    return con.execute(
        """WITH a AS (SELECT window_start, window_end, last_seen, evidence_event_ids
                      FROM alerts WHERE alert_id = ?)
           SELECT e.ts, e.event_id, e.dataset, e.category, e.action, e.outcome, e.user_name,
                  e.source_ip, e.host_name, e.url_original, e.url_domain, e.categories,
                  e.themes, e.search_terms, e.reason, e.location, e.raw
           FROM events e, a
           WHERE e.ts BETWEEN a.window_start - INTERVAL 1 DAY
                          AND greatest(a.window_end, a.last_seen) + INTERVAL 1 DAY
             AND list_contains(a.evidence_event_ids, e.event_id)
           ORDER BY e.ts, e.event_id""", [alert_id]).df()


def pupil_chronology(con: duckdb.DuckDBPyConnection, person_id: str) -> pd.DataFrame:
    """One pupil's safeguarding history, oldest first: alerts about them, every triage
    step on those alerts, and incidents recorded about them."""
    return con.execute(
        """SELECT first_seen AS happened_at, 'alert' AS kind, title AS what,
                  severity, category, alert_id, NULL AS actor
           FROM alerts WHERE subject = $p
           UNION ALL
           SELECT x.acted_at, 'triage', x.action || coalesce(': ' || x.outcome, '')
                  || coalesce(' - ' || x.note, ''), a.severity, a.category, a.alert_id, x.actor
           FROM alert_actions x JOIN alerts a USING (alert_id) WHERE a.subject = $p
           UNION ALL
           SELECT ts, 'incident', coalesce(action, 'incident') || coalesce(': ' || reason, ''),
                  NULL, NULL, NULL, NULL
           FROM events WHERE category = 'incident'
             -- the pupils an incident names ("P1:victim;P2:perpetrator"), not its reporter
             AND (';' || coalesce(json_extract_string(labels, '$."incident.pupils"'), '')
                  || ';') LIKE '%;' || $p || ':%'
           ORDER BY happened_at, kind""", {"p": person_id}).df()
