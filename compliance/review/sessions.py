"""Sessions of the review app, kept server-side so they can be ended: logout, a password reset and removing the
account end them. The signing key of the session cookie lives outside the history database.

The cookie carries a random session id; the ``sessions`` table keeps only its SHA-256 (a copy of the database does
not hand out live sessions). The cookie's signing key comes from ``COMPLIANCE_SESSION_SECRET`` or from a file with
0600 rights beside the database (``NAME.db.secret``, made on first start), never from the database itself.
"""
from __future__ import annotations

import hashlib
import os
import secrets
import stat
import time
from pathlib import Path
from typing import Optional

from compliance.errors import ReviewError
from compliance.history.store import Store
from compliance.text.catalogue import say
from compliance.text.os_errors import os_reason

from .users import User, user

SECRET_ENV = "COMPLIANCE_SESSION_SECRET"
_MIN_SECRET = 32


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8", "surrogatepass")).hexdigest()


def secret_file(db_path: str | Path) -> Path:
    """Where the signing key of a database is kept: beside it, ``NAME.secret``."""
    path = Path(db_path)
    return path.with_name(path.name + ".secret")


def session_secret(db_path: str | Path) -> str:
    """The cookie signing key: ``$COMPLIANCE_SESSION_SECRET``, else the 0600 file beside the database (made once).

    Raises:
        ReviewError: the variable is too short, or the file is readable by others or cannot be read or made.
    """
    env = os.environ.get(SECRET_ENV)
    if env is not None:
        if len(env) < _MIN_SECRET:
            raise ReviewError(say("err.session.env_short", env=SECRET_ENV, n=_MIN_SECRET))
        return env
    path = secret_file(db_path)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return _read_secret(path)
    except OSError as exc:
        raise ReviewError(say("err.session.cannot_create", path=path, why=os_reason(exc), env=SECRET_ENV)) from None
    with os.fdopen(fd, "w", encoding="ascii") as out:
        out.write(secrets.token_hex(32))
    return _read_secret(path)


def _read_secret(path: Path) -> str:
    try:
        mode = stat.S_IMODE(path.stat().st_mode)
        if mode & 0o077:
            raise ReviewError(say("err.session.open", path=path, mode=f"{mode:o}"))
        value = path.read_text(encoding="ascii").strip()
    except (OSError, UnicodeDecodeError) as exc:
        why = os_reason(exc) if isinstance(exc, OSError) else exc
        raise ReviewError(say("err.session.unreadable", path=path, why=why)) from None
    if len(value) < _MIN_SECRET:
        raise ReviewError(say("err.session.short", path=path))
    return value


def open_session(store: Store, login: str, max_age: int) -> str:
    """A new session of ``login`` for ``max_age`` seconds; returns its id (what the cookie carries)."""
    token = secrets.token_urlsafe(32)
    now = time.time()
    with store.transaction() as conn:
        conn.execute("DELETE FROM sessions WHERE expires_at < ?", (now,))
        conn.execute("INSERT INTO sessions (id_hash, login, created_at, expires_at) VALUES (?, ?, ?, ?)",
                     (_digest(token), login, now, now + max_age))
    return token


def session_user(store: Store, token: str) -> Optional[User]:
    """The account of a live session (None: unknown, ended or expired session, or the account is gone)."""
    row = store.connection.execute("SELECT login FROM sessions WHERE id_hash = ? AND expires_at >= ?",
                                   (_digest(token), time.time())).fetchone()
    return user(store, row[0]) if row else None


def end_session(store: Store, token: str) -> None:
    """Log out: this session no longer works, whoever holds its cookie."""
    with store.transaction() as conn:
        conn.execute("DELETE FROM sessions WHERE id_hash = ?", (_digest(token),))
