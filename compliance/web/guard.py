"""Who is asking: the signed session, the CSRF token of every form, and the slowdown of repeated failed logins."""
from __future__ import annotations

import asyncio
import secrets
import threading
import time
from typing import Optional

from starlette.exceptions import HTTPException
from starlette.requests import Request

from compliance.review.users import User

CSRF_FIELD = "csrf_token"


def csrf_token(request: Request) -> str:
    """The session's CSRF token (made on first use); every form carries it back."""
    token = request.session.get("csrf")
    if not token:
        token = request.session["csrf"] = secrets.token_urlsafe(32)
    return str(token)


async def check_csrf(request: Request) -> dict[str, str]:
    """The form of a state-changing request, after its CSRF token is checked (403 when wrong or missing)."""
    form = await request.form()
    sent = form.get(CSRF_FIELD)
    expected = request.session.get("csrf")
    if not expected or not isinstance(sent, str) or not secrets.compare_digest(sent, str(expected)):
        raise HTTPException(403, "CSRF token missing or wrong; reload the page and try again")
    return {k: v for k, v in form.items() if isinstance(v, str)}


def start_session(request: Request, user: User, max_age: int) -> None:
    """A fresh session for a user who just logged in (a new CSRF token: nothing from before the login is kept)."""
    request.session.clear()
    request.session.update({"login": user.login, "exp": int(time.time()) + max_age,
                            "csrf": secrets.token_urlsafe(32)})


def session_login(request: Request) -> Optional[str]:
    """The logged-in login, when the session has one and has not expired (checked here too, not only by the
    cookie's signature age)."""
    login, exp = request.session.get("login"), request.session.get("exp")
    if not login or not isinstance(exp, int) or exp < time.time():
        return None
    return str(login)


class LoginThrottle:
    """Failed logins per (login, client address): each failure after ``free`` doubles the wait, up to ``cap``."""

    def __init__(self, base: float = 0.5, cap: float = 8.0, free: int = 2, forget: float = 900.0) -> None:
        self.base, self.cap, self.free, self.forget = base, cap, free, forget
        self._failures: dict[tuple[str, str], tuple[int, float]] = {}
        self._lock = threading.Lock()

    def delay(self, login: str, address: str) -> float:
        with self._lock:
            count, last = self._failures.get((login, address), (0, 0.0))
        if count <= self.free or time.monotonic() - last > self.forget:
            return 0.0
        return min(self.cap, self.base * 2 ** (count - self.free - 1))

    async def wait(self, login: str, address: str) -> None:
        pause = self.delay(login, address)
        if pause:
            await asyncio.sleep(pause)

    def failed(self, login: str, address: str) -> None:
        with self._lock:
            count, _ = self._failures.get((login, address), (0, 0.0))
            self._failures[(login, address)] = (count + 1, time.monotonic())

    def succeeded(self, login: str, address: str) -> None:
        with self._lock:
            self._failures.pop((login, address), None)
