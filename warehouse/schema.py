"""Versioned schema migrations, applied in order on open; the version lives in the file."""

from __future__ import annotations

from collections.abc import Callable

import duckdb

from warehouse.rollup import CREATE, rebuild_rollups
from warehouse.sqlutil import transaction

# (version, description, statements). Append only: never edit a released migration.
# a step is DDL text, or a function run on the connection (a data step)
Step = str | Callable[[duckdb.DuckDBPyConnection], None]
MIGRATIONS: tuple[tuple[int, str, tuple[Step, ...]], ...] = (
    (1, "events, alerts, dead letters, ingest accounting", (
        """CREATE TABLE events (
            event_id VARCHAR NOT NULL,
            ts TIMESTAMP NOT NULL,            -- UTC
            school_id VARCHAR NOT NULL,
            category VARCHAR NOT NULL,
            type VARCHAR, action VARCHAR, outcome VARCHAR,
            dataset VARCHAR NOT NULL, reason VARCHAR,
            user_name VARCHAR, source_ip VARCHAR, host_name VARCHAR,
            url_original VARCHAR, url_domain VARCHAR,
            http_method VARCHAR, http_status INTEGER,
            categories VARCHAR[], search_terms VARCHAR, asset_tag VARCHAR,
            labels VARCHAR,                   -- JSON object
            person_id VARCHAR, person_role VARCHAR, year_group VARCHAR, boarder BOOLEAN,
            location VARCHAR, location_kind VARCHAR,
            school_hours BOOLEAN, term_time BOOLEAN,
            raw VARCHAR NOT NULL
        )""",
        """CREATE TABLE alerts (
            alert_id VARCHAR PRIMARY KEY,
            version INTEGER NOT NULL,
            school_id VARCHAR NOT NULL, profile_id VARCHAR NOT NULL, rule_id VARCHAR NOT NULL,
            title VARCHAR NOT NULL, clause_ids VARCHAR[] NOT NULL,
            severity TINYINT NOT NULL, category VARCHAR NOT NULL, routing VARCHAR NOT NULL,
            subject VARCHAR NOT NULL, subject_kind VARCHAR NOT NULL, score DOUBLE NOT NULL,
            first_seen TIMESTAMP NOT NULL, last_seen TIMESTAMP NOT NULL,
            window_start TIMESTAMP NOT NULL, window_end TIMESTAMP NOT NULL,
            event_count INTEGER NOT NULL, evidence_event_ids VARCHAR[] NOT NULL,
            status VARCHAR NOT NULL DEFAULT 'new'
        )""",
        """CREATE TABLE dead_letters (
            dead_letter_id VARCHAR NOT NULL,
            school_id VARCHAR NOT NULL, dataset VARCHAR NOT NULL, stage VARCHAR NOT NULL,
            reason VARCHAR NOT NULL, raw VARCHAR NOT NULL, source VARCHAR, line_no BIGINT,
            received_at TIMESTAMP NOT NULL
        )""",
        """CREATE TABLE ingest_batches (
            batch_id VARCHAR PRIMARY KEY,
            school_id VARCHAR NOT NULL, source VARCHAR NOT NULL, path VARCHAR,
            records_in BIGINT NOT NULL, events_parsed BIGINT NOT NULL,
            dead_lettered BIGINT NOT NULL, received_at TIMESTAMP NOT NULL
        )""",
        "CREATE INDEX events_ts ON events (ts)",
    )),
    (2, "safeguarding keyword themes on events", (
        "ALTER TABLE events ADD COLUMN themes VARCHAR[]",
    )),
    (3, "follow-mode file cursors and detector state, committed with the data", (
        """CREATE TABLE source_cursors (
            path VARCHAR PRIMARY KEY, inode BIGINT NOT NULL, byte_offset BIGINT NOT NULL,
            line_no BIGINT NOT NULL, updated_at TIMESTAMP NOT NULL
        )""",
        """CREATE TABLE detector_state (
            subject VARCHAR PRIMARY KEY, state VARCHAR NOT NULL, updated_at TIMESTAMP NOT NULL
        )""",
    )),
    (4, "asset and leaver facts from enrichment", (
        "ALTER TABLE events ADD COLUMN asset_owner VARCHAR",
        "ALTER TABLE events ADD COLUMN asset_ownership VARCHAR",
        "ALTER TABLE events ADD COLUMN asset_category VARCHAR",
        "ALTER TABLE events ADD COLUMN after_leave BOOLEAN",
    )),
    (5, "rule settings (current) and their full change history", (
        """CREATE TABLE rule_settings (
            school_id VARCHAR NOT NULL, rule_id VARCHAR NOT NULL, settings VARCHAR NOT NULL,
            changed_by VARCHAR NOT NULL, changed_at TIMESTAMP NOT NULL, reason VARCHAR,
            PRIMARY KEY (school_id, rule_id)
        )""",
        """CREATE TABLE rule_setting_history (
            school_id VARCHAR NOT NULL, rule_id VARCHAR NOT NULL, settings VARCHAR NOT NULL,
            previous VARCHAR NOT NULL, changed_by VARCHAR NOT NULL,
            changed_at TIMESTAMP NOT NULL, reason VARCHAR,
            PRIMARY KEY (school_id, rule_id, changed_at)
        )""",
    )),
    (6, "alert actions, audit log, directory snapshots, data quality, retention log", (
        # when the warehouse first stored an alert (processing time): time to acknowledge
        # is measured from here, not from the events' own times
        "ALTER TABLE alerts ADD COLUMN raised_at TIMESTAMP",
        "UPDATE alerts SET raised_at = last_seen WHERE raised_at IS NULL",
        # triage, one row per step; action_id comes from the client, so a re-delivered
        # action adds nothing; the alert's status is the latest status-changing step
        """CREATE TABLE alert_actions (
            action_id VARCHAR PRIMARY KEY,
            alert_id VARCHAR NOT NULL, school_id VARCHAR NOT NULL,
            action VARCHAR NOT NULL,  -- acknowledge|assign|escalate|outcome|note|close|reopen
            actor VARCHAR NOT NULL, actor_role VARCHAR NOT NULL,
            acted_at TIMESTAMP NOT NULL,      -- UTC, when the person acted
            assignee VARCHAR, outcome VARCHAR, note VARCHAR,
            stored_at TIMESTAMP NOT NULL
        )""",
        "CREATE INDEX alert_actions_alert ON alert_actions (alert_id)",
        # who did or viewed what (sign-ins, views of a pupil's data, exports, rule edits)
        """CREATE TABLE audit_log (
            audit_id VARCHAR PRIMARY KEY,
            logged_at TIMESTAMP NOT NULL, actor VARCHAR NOT NULL, actor_role VARCHAR,
            action VARCHAR NOT NULL, subject_kind VARCHAR, subject_id VARCHAR,
            detail VARCHAR
        )""",
        # the directory as it was when a batch was read: year groups and roles change
        # between terms, and termly figures must use the term's own
        """CREATE TABLE directory_snapshots (
            snapshot_id VARCHAR PRIMARY KEY, school_id VARCHAR NOT NULL,
            taken_at TIMESTAMP NOT NULL, people BIGINT NOT NULL, assets BIGINT NOT NULL,
            networks BIGINT NOT NULL
        )""",
        """CREATE TABLE directory_people (
            snapshot_id VARCHAR NOT NULL, person_id VARCHAR NOT NULL, role VARCHAR NOT NULL,
            year_group VARCHAR, boarder BOOLEAN, start_date DATE, leave_date DATE,
            PRIMARY KEY (snapshot_id, person_id)
        )""",
        # one row per expectation per validated batch (Great Expectations results)
        """CREATE TABLE dq_results (
            batch_id VARCHAR NOT NULL, school_id VARCHAR NOT NULL, source VARCHAR NOT NULL,
            suite VARCHAR NOT NULL, expectation VARCHAR NOT NULL, column_name VARCHAR NOT NULL,
            severity VARCHAR NOT NULL, success BOOLEAN NOT NULL,
            element_count BIGINT NOT NULL, unexpected_count BIGINT NOT NULL,
            checked_at TIMESTAMP NOT NULL,
            PRIMARY KEY (batch_id, expectation, column_name)
        )""",
        """CREATE TABLE retention_runs (
            run_id VARCHAR NOT NULL, table_name VARCHAR NOT NULL, cutoff TIMESTAMP NOT NULL,
            deleted BIGINT NOT NULL, ran_at TIMESTAMP NOT NULL, ran_by VARCHAR NOT NULL,
            PRIMARY KEY (run_id, table_name)
        )""",
    )),
    (7, "web and presence rollups for termly figures (backfilled from events)", (
        *CREATE,
        rebuild_rollups,  # a data step: count the events already stored
    )),
    (8, "alert notifications, DfE filtering reviews and the block/allow change log", (
        # one row per alert and channel (email, webhook): sent once, retried until it is
        """CREATE TABLE notifications (
            alert_id VARCHAR NOT NULL, channel VARCHAR NOT NULL, status VARCHAR NOT NULL,
            attempts INTEGER NOT NULL, last_error VARCHAR, sent_at TIMESTAMP,
            updated_at TIMESTAMP NOT NULL,
            PRIMARY KEY (alert_id, channel)
        )""",
        # the DfE filtering and monitoring standards' annual review record
        """CREATE TABLE filter_reviews (
            review_id VARCHAR PRIMARY KEY, school_id VARCHAR NOT NULL,
            review_date DATE NOT NULL, roles VARCHAR NOT NULL,       -- JSON {role: name}
            attendees VARCHAR NOT NULL, decisions VARCHAR NOT NULL,  -- JSON lists
            next_review DATE, recorded_by VARCHAR NOT NULL, recorded_at TIMESTAMP NOT NULL
        )""",
        """CREATE TABLE filter_changes (
            change_id VARCHAR PRIMARY KEY, school_id VARCHAR NOT NULL,
            changed_at TIMESTAMP NOT NULL, change VARCHAR NOT NULL,   -- block | allow
            target VARCHAR NOT NULL, reason VARCHAR NOT NULL,
            requested_by VARCHAR, approved_by VARCHAR, recorded_by VARCHAR NOT NULL,
            recorded_at TIMESTAMP NOT NULL
        )""",
    )),
)
LATEST_VERSION = MIGRATIONS[-1][0]


def current_version(con: duckdb.DuckDBPyConnection) -> int:
    con.execute("CREATE TABLE IF NOT EXISTS schema_migrations "
                "(version INTEGER PRIMARY KEY, description VARCHAR, applied_at TIMESTAMP)")
    row = con.execute("SELECT coalesce(max(version), 0) FROM schema_migrations").fetchone()
    return int(row[0]) if row else 0


def migrate(con: duckdb.DuckDBPyConnection) -> list[int]:
    """Apply every migration newer than the file's version, each in its own transaction."""
    applied = []
    have = current_version(con)
    for version, description, statements in MIGRATIONS:
        if version <= have:
            continue
        with transaction(con):
            for step in statements:
                if callable(step):  # a data step, in the migration's transaction
                    step(con)
                else:
                    con.execute(step)
            con.execute("INSERT INTO schema_migrations VALUES (?, ?, now()::TIMESTAMP)",
                        [version, description])
        applied.append(version)
    return applied
