"""Rollups the writer keeps with every batch, so termly figures never scan the events.

A term of a 1,500-pupil school is tens of millions of filter events; the governors'
figures only need counts. With each batch the writer adds its new events to:

* `web_rollup` — web events and blocked ones per 15-minute bucket (UTC) and filter
  category ('uncategorised' when none; an event with several counts in each): block
  rates, and filter gaps (a school-day slot with no bucket is a gap);
* `presence_daily` — per UTC day, which people and which assets appeared in filter or
  sign-in events, with a count: coverage of pupils and devices.

The increments come from the rows actually inserted (after de-duplication), in the same
transaction, so a re-delivered batch adds nothing. Rollups hold no raw records and are
kept when retention deletes the raw events: trends across years stay possible.
"""

from __future__ import annotations

import duckdb

from warehouse.snapshot import checked_ident

BUCKET_SECONDS = 900
BLOCK_ACTION = "blocked"
COVERAGE_CATEGORIES = ("web", "authentication", "session")

CREATE = (
    """CREATE TABLE web_rollup (
        school_id VARCHAR NOT NULL, bucket TIMESTAMP NOT NULL, category VARCHAR NOT NULL,
        events BIGINT NOT NULL, blocked BIGINT NOT NULL,
        PRIMARY KEY (school_id, bucket, category)
    )""",
    """CREATE TABLE presence_daily (
        school_id VARCHAR NOT NULL, day DATE NOT NULL, kind VARCHAR NOT NULL,
        id VARCHAR NOT NULL, events BIGINT NOT NULL,
        PRIMARY KEY (school_id, day, kind, id)
    )""",
)


def add_to_rollups(con: duckdb.DuckDBPyConnection, source: str) -> None:
    """Add the events of table or view `source` (same columns as `events`) to the rollups."""
    src = checked_ident(source)
    con.execute(
        f"""INSERT INTO web_rollup BY NAME
            SELECT school_id, time_bucket(INTERVAL {BUCKET_SECONDS} SECOND, ts) AS bucket,
                   coalesce(c, 'uncategorised') AS category, count(*) AS events,
                   count(*) FILTER (WHERE action = $blocked) AS blocked
            FROM (SELECT school_id, ts, action,
                         unnest(CASE WHEN coalesce(len(categories), 0) = 0
                                     THEN [NULL::VARCHAR] ELSE categories END) AS c
                  FROM {src} WHERE category = 'web')
            GROUP BY ALL
            ON CONFLICT (school_id, bucket, category) DO UPDATE
            SET events = web_rollup.events + excluded.events,
                blocked = web_rollup.blocked + excluded.blocked""",  # noqa: S608 - checked
        {"blocked": BLOCK_ACTION})
    con.execute(
        f"""INSERT INTO presence_daily BY NAME
            SELECT school_id, ts::DATE AS day, kind, id, count(*) AS events FROM (
                SELECT school_id, ts, 'person' AS kind, person_id AS id FROM {src}
                WHERE category IN $cats AND person_id IS NOT NULL
                UNION ALL
                SELECT school_id, ts, 'asset', asset_tag FROM {src}
                WHERE category IN $cats AND asset_tag IS NOT NULL)
            GROUP BY ALL
            ON CONFLICT (school_id, day, kind, id) DO UPDATE
            SET events = presence_daily.events + excluded.events""",  # noqa: S608 - checked
        {"cats": list(COVERAGE_CATEGORIES)})


def rebuild_rollups(con: duckdb.DuckDBPyConnection) -> None:
    """Recompute both rollups from the events table (a migration, a bulk load)."""
    con.execute("DELETE FROM web_rollup")
    con.execute("DELETE FROM presence_daily")
    add_to_rollups(con, "events")
