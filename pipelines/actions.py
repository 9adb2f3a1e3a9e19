"""Submitting what people do in the dashboard to whoever owns the warehouse file.

Broker mode: the step goes to the `alert-actions` topic (acks from every replica,
idempotent producer) and the sink writes it. Embedded mode: the step goes to the
action spool beside the warehouse file; if nobody holds the file (the demo, a school
running ingest from cron) the dashboard drains the spool itself there and then,
otherwise the running owner does within one poll. Either way the step is durable
before this returns, so a lock can delay an action but never lose it.

Audit entries and the filtering review's records take the outbox in both modes (the sink
drains it every poll); a rule edit goes to `config.rules` in broker mode, so every worker
picks it up live, and through the outbox to the embedded runner otherwise.
"""

from __future__ import annotations

import logging
from pathlib import Path

import orjson

from safeguard.actions import AlertAction
from safeguard.rule_settings import RuleChange
from streams.topics import Topics
from warehouse.errors import WarehouseError
from warehouse.spool import ActionSpool, Outbox, Record
from warehouse.writer import Warehouse

log = logging.getLogger(__name__)


def submit_action(action: AlertAction, *, db_path: Path, broker: str | None = None,
                  topics: Topics | None = None) -> str:
    """Make `action` durable and on its way; returns where it went ('topic', 'warehouse'
    or 'spool' when the owner will pick it up)."""
    if broker:
        from kafka import KafkaProducer

        producer = KafkaProducer(bootstrap_servers=broker, acks="all",
                                 enable_idempotence=True, client_id="safeguard-dashboard")
        try:
            producer.send((topics or Topics()).alert_actions,
                          key=action.alert_id.encode(),
                          value=orjson.dumps(action.to_dict())).get(timeout=30)
        finally:
            producer.close()
        return "topic"
    ActionSpool(db_path).submit(action)
    return _drain_if_free(db_path)


def submit_record(record: Record, *, db_path: Path, broker: str | None = None,
                  topics: Topics | None = None, drain: bool = True) -> str:
    """Any record people make in the dashboard: 'topic', 'warehouse' or 'spool'
    (`drain=False` leaves it for the next drain: a page view's audit entry)."""
    if isinstance(record, AlertAction):
        return submit_action(record, db_path=db_path, broker=broker, topics=topics)
    if isinstance(record, RuleChange) and broker:
        from streams.rule_config import publish_change

        publish_change(broker, (topics or Topics()).rules, record)
        return "topic"
    Outbox(db_path).submit(record)
    return _drain_if_free(db_path) if drain else "spool"


def _drain_if_free(db_path: Path) -> str:
    try:
        with Warehouse(db_path):  # start() drains the spool; close() publishes a snapshot
            pass
    except WarehouseError:
        log.info("warehouse busy; the spooled action waits for its owner")
        return "spool"
    return "warehouse"
