"""Accounts of the review app: the lead and the managers, argon2 password hashes (sessions: ``sessions``).

Accounts live in the history database (``users``), so one file holds the calls and who may see them. A manager's
account names the roster key of their calls (``manager``): that is all they can see.
"""
from __future__ import annotations

import datetime as dt
import re
from functools import lru_cache
from typing import TYPE_CHECKING, Iterable, Literal, Optional

from pydantic import BaseModel

from compliance.errors import ReviewError
from compliance.history.store import Store
from compliance.text.catalogue import say

Role = Literal["lead", "manager"]
ROLES = ("lead", "manager")
MIN_PASSWORD = 8
_LOGIN = re.compile(r"^[a-z0-9][a-z0-9._-]{0,63}$")

if TYPE_CHECKING:
    from argon2 import PasswordHasher


@lru_cache(maxsize=1)
def _hashing() -> tuple[PasswordHasher, str]:
    """The hasher, and a hash verified when the login is unknown, so a wrong login costs as long as a wrong
    password (no user enumeration). Made on first use: hashing is slow on purpose, and `users list` needs none."""
    from argon2 import PasswordHasher

    hasher = PasswordHasher()
    return hasher, hasher.hash("not a password of anyone")


class User(BaseModel):
    login: str
    role: Role
    manager: Optional[str] = None      # roster key of a manager's own calls
    created_at: str = ""

    @property
    def is_lead(self) -> bool:
        return self.role == "lead"


def add_user(store: Store, login: str, role: str, password: str, manager: Optional[str] = None, *,
             reset: bool = False) -> User:
    """Create an account; with ``reset``, set a new password and role for an existing one.

    Raises:
        ReviewError: a bad login, an unknown role, a manager account without ``manager``, a short password, an
            existing account without ``reset``.
    """
    if not _LOGIN.match(login):
        raise ReviewError(say("err.users.login", login=repr(login)))
    if role not in ROLES:
        raise ReviewError(say("err.users.role", role=repr(role)))
    if role == "manager" and not manager:
        raise ReviewError(say("err.users.needs_manager", login=login))
    if len(password) < MIN_PASSWORD:
        raise ReviewError(say("err.users.short_password", login=login, n=MIN_PASSWORD))
    if not reset and user(store, login) is not None:
        raise ReviewError(say("err.users.exists", login=login))
    now = dt.datetime.now().isoformat(timespec="seconds")
    with store.transaction() as conn:
        conn.execute("INSERT INTO users (login, role, manager, password_hash, created_at) VALUES (?, ?, ?, ?, ?) "
                     "ON CONFLICT(login) DO UPDATE SET role = excluded.role, manager = excluded.manager, "
                     "password_hash = excluded.password_hash",
                     (login, role, manager if role == "manager" else None, _hashing()[0].hash(password), now))
        conn.execute("DELETE FROM sessions WHERE login = ?", (login,))  # a new password logs everyone out
    found = user(store, login)
    assert found is not None
    return found


def check_manager_key(key: str, roster: Optional[Iterable[str]], stored: Iterable[str],
                      roster_name: str = "team.yaml") -> str:
    """The roster key a manager account names: one of the roster's managers (or, with no roster, a manager of a
    call in the history), compared as roster keys are.

    Raises:
        ReviewError: a key nobody has.
    """
    from compliance.history.roster import normalize_manager_key

    wanted = normalize_manager_key(key)
    known = sorted({normalize_manager_key(k) for k in (roster if roster is not None else stored)})
    if wanted in known:
        return wanted
    if roster is not None:
        raise ReviewError(say("err.users.not_in_roster", key=repr(key), roster=roster_name,
                              known=", ".join(known) or "—"))
    raise ReviewError(say("err.users.not_in_history", key=repr(key), known=", ".join(known) or "—"))


def users(store: Store) -> list[User]:
    rows = store.connection.execute("SELECT login, role, manager, created_at FROM users ORDER BY login").fetchall()
    return [User(login=r[0], role=r[1], manager=r[2], created_at=r[3]) for r in rows]


def user(store: Store, login: str) -> Optional[User]:
    row = store.connection.execute("SELECT login, role, manager, created_at FROM users WHERE login = ?",
                                   (login,)).fetchone()
    return User(login=row[0], role=row[1], manager=row[2], created_at=row[3]) if row else None


def remove_user(store: Store, login: str) -> None:
    """Delete an account and end its sessions.

    Raises:
        ReviewError: no such account.
    """
    with store.transaction() as conn:
        if conn.execute("DELETE FROM users WHERE login = ?", (login,)).rowcount == 0:
            raise ReviewError(say("err.users.no_account", login=repr(login)))
        conn.execute("DELETE FROM sessions WHERE login = ?", (login,))


def verify(store: Store, login: str, password: str) -> Optional[User]:
    """The account when the password is right, else None (an unknown login takes as long as a wrong password)."""
    from argon2.exceptions import InvalidHashError, VerificationError

    hasher, dummy = _hashing()   # before the look-up: the first request pays the dummy hash whoever logs in
    row = store.connection.execute("SELECT password_hash FROM users WHERE login = ?", (login,)).fetchone()
    try:
        hasher.verify(row[0] if row else dummy, password)
    except (VerificationError, InvalidHashError):
        return None
    return user(store, login) if row else None


def known_lead(store: Store, login: str) -> User:
    """The lead's account that a decision is recorded under (``--by``): an existing lead, never a made-up name.

    Raises:
        ReviewError: no such account, or it is a manager's.
    """
    found = user(store, login)
    if found is None:
        raise ReviewError(say("err.users.by_unknown", login=repr(login)))
    if not found.is_lead:
        raise ReviewError(say("err.users.by_manager", login=repr(login)))
    return found
