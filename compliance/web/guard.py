"""Who is asking: the session cookie, the CSRF token of every (small, urlencoded) form, and the login throttle."""
from __future__ import annotations

import asyncio
import math
import secrets
import threading
import time
from typing import Optional
from urllib.parse import parse_qsl

from starlette.exceptions import HTTPException
from starlette.requests import Request

from compliance.text.catalogue import say

CSRF_FIELD = "csrf_token"
MAX_FORM_BYTES = 64 * 1024   # the largest form (a note, a comment) is a few KiB
FORM_TYPE = "application/x-www-form-urlencoded"


def csrf_token(request: Request) -> str:
    """The session's CSRF token (made on first use); every form carries it back."""
    token = request.session.get("csrf")
    if not token:
        token = request.session["csrf"] = secrets.token_urlsafe(32)
    return str(token)


async def _form_body(request: Request) -> dict[str, str]:
    """The fields of a urlencoded form, read into memory up to ``MAX_FORM_BYTES``. Our forms never upload files:
    any other body (multipart) is refused before a byte of it is read, so nothing reaches a temporary file."""
    kind = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if kind != FORM_TYPE:
        raise HTTPException(415, say("web.refused.form_type", kind=FORM_TYPE))
    declared = request.headers.get("content-length", "")
    if declared.isascii() and declared.isdigit() and int(declared) > MAX_FORM_BYTES:
        raise HTTPException(413, say("web.refused.form_size", kib=MAX_FORM_BYTES // 1024))
    body = bytearray()
    async for chunk in request.stream():
        body += chunk
        if len(body) > MAX_FORM_BYTES:
            raise HTTPException(413, say("web.refused.form_size", kib=MAX_FORM_BYTES // 1024))
    try:
        pairs = parse_qsl(body.decode("utf-8"), keep_blank_values=True, strict_parsing=False,
                          errors="strict", max_num_fields=100)
    except (UnicodeDecodeError, ValueError):
        raise HTTPException(400, say("web.refused.form_text")) from None
    return dict(pairs)


async def check_csrf(request: Request) -> dict[str, str]:
    """The form of a state-changing request, after its CSRF token is checked (403 when wrong or missing)."""
    form = await _form_body(request)
    sent = form.get(CSRF_FIELD)
    expected = request.session.get("csrf")
    if not expected or not isinstance(sent, str) or not secrets.compare_digest(sent.encode("utf-8", "replace"),
                                                                                str(expected).encode()):
        raise HTTPException(403, "CSRF token missing or wrong; reload the page and try again")
    return form


def start_session(request: Request, session_id: str) -> None:
    """A fresh cookie for a user who just logged in: the server-side session's id and a new CSRF token (nothing
    from before the login is kept)."""
    request.session.clear()
    request.session.update({"sid": session_id, "csrf": secrets.token_urlsafe(32)})


def session_id(request: Request) -> Optional[str]:
    """The server-side session id the cookie names, if any (whether it is live, the ``sessions`` table says)."""
    sid = request.session.get("sid")
    return sid if isinstance(sid, str) and sid else None


class Throttled(Exception):
    """Too many attempts: the login is refused without checking the password; try again in ``retry_after`` s."""

    def __init__(self, retry_after: float) -> None:
        super().__init__(retry_after)
        self.retry_after = max(1, math.ceil(retry_after))


class _Key:
    __slots__ = ("failures", "next_at", "seen", "checking")

    def __init__(self) -> None:
        self.failures, self.next_at, self.seen, self.checking = 0, 0.0, 0.0, 0


class LoginThrottle:
    """Password checks per account and per client address, safe under parallel requests.

    At most ``parallel`` checks of one account (``parallel_address`` of one address) run at once; the others queue.
    After ``free`` failures of an account (``free_address`` over all accounts of one address: one password
    sprayed over many accounts), each check waits ``base`` seconds after the previous one started or failed,
    doubling with each failure up to ``longest``. A request that would be held more than ``hold`` seconds is
    refused at once (429, with when to try again). A successful login clears its account's failures (not its
    address's); a key quiet for ``forget`` seconds starts again.
    """

    def __init__(self, base: float = 0.5, *, hold: float = 8.0, longest: float = 300.0, free: int = 2,
                 free_address: int = 10, parallel: int = 1, parallel_address: int = 4,
                 forget: float = 900.0) -> None:
        self.base, self.hold, self.longest, self.forget = base, hold, longest, forget
        self._rules = {"login": (free, parallel), "address": (free_address, parallel_address)}
        self._keys: dict[tuple[str, str], _Key] = {}
        self._lock = threading.Lock()

    def _gap(self, kind: str, failures: int) -> float:
        free = self._rules[kind][0]
        return 0.0 if failures < free else min(self.longest, self.base * 2 ** (failures - free))

    def _state(self, key: tuple[str, str], now: float) -> _Key:
        state = self._keys.get(key)
        if state is None or (not state.checking and now - state.seen > self.forget):
            if len(self._keys) > 10_000:  # a spray of made-up logins must not grow this without end
                self._keys = {k: v for k, v in self._keys.items() if v.checking or now - v.seen <= self.forget}
            state = self._keys[key] = _Key()
        return state

    def _try(self, keys: list[tuple[str, str]], arrived: float) -> float:
        """Start a check now (returns 0), or say how long to wait before trying again; raises Throttled."""
        with self._lock:
            now = time.monotonic()
            states = [self._state(key, now) for key in keys]
            wait, throttled = 0.0, False
            for (kind, _), state in zip(keys, states):
                free, parallel = self._rules[kind]
                throttled |= state.failures >= free
                wait = max(wait, state.next_at - now, 0.05 if state.checking >= parallel else 0.0)
            if wait <= 0:
                for (kind, _), state in zip(keys, states):
                    state.checking += 1
                    state.seen = now
                    if state.failures >= self._rules[kind][0]:  # throttled: the next one waits, whatever this gives
                        state.next_at = now + self._gap(kind, state.failures)
                return 0.0
            if throttled and now - arrived + wait > self.hold:
                raise Throttled(max(wait, min(self.longest, self.base)))
            return wait

    async def acquire(self, login: str, address: str) -> None:
        """Wait for this attempt's turn to check a password.

        Raises:
            Throttled: its turn is too far away; nothing was checked.
        """
        keys, arrived = [("login", login), ("address", address)], time.monotonic()
        while wait := self._try(keys, arrived):
            await asyncio.sleep(min(wait, 0.25))

    def release(self, login: str, address: str, ok: bool) -> None:
        """The check is over: a failure pushes the next check back, a success clears the account's failures."""
        with self._lock:
            now = time.monotonic()
            for key in (("login", login), ("address", address)):
                state = self._keys.get(key)
                if state is None:
                    continue
                state.checking, state.seen = max(0, state.checking - 1), now
                if ok and key[0] == "login":
                    state.failures, state.next_at = 0, 0.0
                elif not ok:
                    state.failures += 1
                    state.next_at = max(state.next_at, now + self._gap(key[0], state.failures))
