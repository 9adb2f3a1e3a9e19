"""The demo's sign-ins: one synthetic account per role, created once, password printed.

Only `safeguard demo` calls this, on its own synthetic school; a real school creates
accounts with `safeguard users add` and no account exists until it does.
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

from safeguard.auth import Role
from warehouse.accounts import AccountStore, accounts_path

DEMO_PASSWORD = "demo-safeguard-2026"  # noqa: S105 - the synthetic demo school only
DEMO_ACCOUNTS = (("dsl", Role.dsl, "Demo DSL"), ("deputy", Role.deputy_dsl, "Demo Deputy DSL"),
                 ("head", Role.headteacher, "Demo Headteacher"),
                 ("governor", Role.governor, "Demo Governor"), ("it", Role.it, "Demo IT"))


def ensure_demo_accounts(db_path: Path) -> list[str]:
    """Create the demo accounts that do not exist yet; returns the usernames."""
    store = AccountStore(accounts_path(db_path))
    have = {u.username for u in store.list_users()}
    now = datetime.now(UTC)
    for username, role, name in DEMO_ACCOUNTS:
        if username not in have:
            store.add_user(username, role, name, DEMO_PASSWORD, now)
    return [u for u, _, _ in DEMO_ACCOUNTS]
