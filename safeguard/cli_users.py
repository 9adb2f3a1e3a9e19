"""`safeguard users add|remove|list`: dashboard accounts (part of the composition root).

Accounts live in their own small DuckDB file beside the warehouse (see
`warehouse.accounts`), so they can be managed while an ingest holds the warehouse.
Passwords come from a hidden prompt or stdin, never from the command line, where
`ps` and shell history would show them; nothing here prints a hash.
"""

from __future__ import annotations

import argparse
import getpass
import sys
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from safeguard.auth import Role
from safeguard.errors import SafeguardError
from safeguard.settings import Settings

if TYPE_CHECKING:
    from warehouse.accounts import AccountStore


class UsersCommandError(SafeguardError):
    """A users command cannot do what was asked; the message is the line the user sees."""


def _store(settings: Settings) -> AccountStore:
    from warehouse.accounts import AccountStore, accounts_path

    return AccountStore(accounts_path(settings.db_path))


def _read_password(args: argparse.Namespace) -> str:
    if args.password_stdin:
        password = sys.stdin.readline().rstrip("\r\n")
        if not password:
            raise UsersCommandError("no password on stdin")
        return password
    first = getpass.getpass(f"password for {args.username}: ")
    if getpass.getpass("again: ") != first:
        raise UsersCommandError("the two passwords differ; nothing changed")
    return first


def cmd_users(args: argparse.Namespace, settings: Settings) -> int:
    """Add, remove or list the people who may sign in to the dashboard."""
    from warehouse.errors import WarehouseError

    store = _store(settings)
    try:
        if args.users_action == "list":
            users = store.list_users()
            for u in users:
                print(f"{u.username:<24} {u.role.label:<12} {u.display_name:<30} "
                      f"{u.created_at.astimezone(UTC):%Y-%m-%d %H:%M} UTC"
                      f"{'  (disabled)' if u.disabled else ''}")
            print(f"{len(users)} user(s) in {store.path}")
        elif args.users_action == "add":
            try:
                role = Role.parse(args.role)
            except ValueError as exc:
                raise UsersCommandError(str(exc)) from exc
            password = _read_password(args)
            user = store.add_user(args.username, role, args.name or args.username, password,
                                  datetime.now(UTC))
            print(f"added {user.username} ({user.role.label})")
        else:
            if not store.remove_user(args.username):
                raise UsersCommandError(f"no user named {args.username!r}")
            print(f"removed {args.username}; their sessions are ended")
    except WarehouseError as exc:
        raise UsersCommandError(str(exc)) from exc
    return 0


def add_parsers(sub: Any) -> None:
    """Register `users` on the top-level subparsers of `safeguard.cli`."""
    u = sub.add_parser("users", help="dashboard accounts: add, remove, list")
    actions = u.add_subparsers(dest="users_action", required=True, metavar="ACTION")
    roles = ", ".join(r.value for r in Role)
    db_help = ("warehouse file (default SAFEGUARD_DB); accounts are kept beside it in "
               "FILE.accounts.duckdb")

    a = actions.add_parser("add", help="add a user (password from a prompt or stdin)")
    a.add_argument("username", help="2-64 characters: a-z, 0-9, '.', '_', '-'")
    a.add_argument("--role", required=True, help=f"one of {roles}")
    a.add_argument("--name", help="display name (default: the username)")
    a.add_argument("--password-stdin", action="store_true",
                   help="read the password from the first line of stdin")
    a.add_argument("--db", help=db_help)

    r = actions.add_parser("remove", help="remove a user and end their sessions")
    r.add_argument("username")
    r.add_argument("--db", help=db_help)

    ls = actions.add_parser("list", help="list users (never their password hashes)")
    ls.add_argument("--db", help=db_help)
    u.set_defaults(func=cmd_users)
