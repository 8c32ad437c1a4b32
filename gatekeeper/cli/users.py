"""``gatekeeper hub user ...``: console accounts (add, list, disable, passwd)."""

from __future__ import annotations

import sys

import click

from gatekeeper.cli.common import emit_json, fail, iso
from gatekeeper.cli.hub import DB_OPTION, hub

ROLES = click.Choice(["admin", "operator", "viewer"])


def _open(db_url: str):
    from gatekeeper.hub import Accounts, AuditLog, Database
    try:
        db = Database(db_url)
        return Accounts(db), AuditLog(db)
    except Exception as e:  # noqa: BLE001 -- a wrong URL, an unreachable server, a locked file: say which
        fail(f"cannot open hub database {db_url!r}: {e}")


def _password(from_stdin: bool) -> str:
    if from_stdin:
        return sys.stdin.readline().rstrip("\r\n")
    return click.prompt("Password", hide_input=True, confirmation_prompt=True)


@hub.group("user")
def user() -> None:
    """Console accounts: usernames are office roles or desks, never a person's name."""


@user.command("add")
@DB_OPTION
@click.option("--username", required=True)
@click.option("--role", type=ROLES, required=True)
@click.option("--password-stdin", is_flag=True, help="Read the password from the first line of stdin.")
def user_add(db_url: str, username: str, role: str, password_stdin: bool) -> None:
    """Add a console account (prompts for the password unless --password-stdin)."""
    from gatekeeper.hub import AccountError, AuditAction, Role
    accounts, audit = _open(db_url)
    try:
        accounts.add(username, Role(role), _password(password_stdin))
    except AccountError as e:
        fail(f"{e.field}: {e.message}")
    audit.record("cli", AuditAction.ACCOUNT_ADD, username, f"role {role}")
    click.echo(f"added {role} {username}")


@user.command("list")
@DB_OPTION
@click.option("--json", "as_json", is_flag=True)
def user_list(db_url: str, as_json: bool) -> None:
    """List console accounts."""
    accounts, _ = _open(db_url)
    rows = [{"username": a.username, "role": str(a.role), "disabled": a.disabled, "locked_until": iso(a.locked_until),
             "last_sign_in": iso(a.last_sign_in)} for a in accounts.all()]
    if as_json:
        emit_json({"accounts": rows})
        return
    for r in rows:
        locked = f"locked until {r['locked_until']}" if r["locked_until"] else "active"
        state = "disabled" if r["disabled"] else locked
        click.echo(f"{r['username']:24} {r['role']:9} {state:30} last sign-in {r['last_sign_in'] or '-'}")


@user.command("disable")
@DB_OPTION
@click.option("--username", required=True)
def user_disable(db_url: str, username: str) -> None:
    """Disable an account and end its sessions."""
    from gatekeeper.hub import AccountError, AuditAction, Sessions
    accounts, audit = _open(db_url)
    try:
        accounts.set_disabled(username)
    except AccountError as e:
        fail(e.message)
    Sessions(accounts.db).end_all(username)
    audit.record("cli", AuditAction.ACCOUNT_DISABLE, username, "disable")
    click.echo(f"disabled {username}")


@user.command("passwd")
@DB_OPTION
@click.option("--username", required=True)
@click.option("--password-stdin", is_flag=True, help="Read the password from the first line of stdin.")
def user_passwd(db_url: str, username: str, password_stdin: bool) -> None:
    """Set an account's password (also lifts a lock-out) and end its sessions."""
    from gatekeeper.hub import AccountError, AuditAction, Sessions
    accounts, audit = _open(db_url)
    try:
        accounts.set_password(username, _password(password_stdin))
    except AccountError as e:
        fail(f"{e.field}: {e.message}")
    Sessions(accounts.db).end_all(username)
    audit.record("cli", AuditAction.ACCOUNT_PASSWORD, username, "password set (and lock lifted)")
    click.echo(f"password set for {username}")
