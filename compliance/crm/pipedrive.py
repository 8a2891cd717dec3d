"""A small Pipedrive API v1 client: base URL, the token header, pagination, waiting out rate limits, retrying a
server that is down for a moment, and one clear error for a refused token.

The token travels only in the ``x-api-token`` header (never in a URL, so no log line or error message can carry
it) and is never part of an error message or ``repr``.
"""
from __future__ import annotations

import email.utils
import json
import math
import os
import socket
import threading
import time
import weakref
from pathlib import Path
from typing import Any, Callable, Iterator, Mapping, Optional
from urllib.parse import urlsplit

import httpx
from pydantic import BaseModel

from compliance.errors import CrmError
from compliance.text.catalogue import say
from compliance.text.os_errors import os_reason
from compliance.text.third_party import http_reason, quoted, transport_reason

DEFAULT_API_URL = "https://api.pipedrive.com"
TOKEN_ENV = "PIPEDRIVE_API_TOKEN"
URL_ENV = "PIPEDRIVE_API_URL"
_LOOPBACK = {"127.0.0.1", "localhost", "::1"}


class RetryPolicy(BaseModel):
    """How hard the client tries before it gives up on a request, and what it accepts as an answer."""

    server_errors: int = 3          # retries after a 5xx or no answer
    backoff: float = 0.5            # seconds before the first such retry; doubled each time
    rate_limited: int = 6           # retries after a 429
    max_wait: float = 60.0          # a 429 asking for longer than this ends the request at once
    timeout: float = 30.0           # seconds of silence on one connection
    deadline: float = 120.0         # seconds for one request, its retries and waits included
    max_bytes: int = 20_000_000     # the largest answer read (a page of 500 items is well under 1 MB)
    max_pages: int = 1000           # the most pages one collection is walked through


class UnsureWrite(CrmError):
    """A write whose answer never came (lost, reset, a 5xx, no id): Pipedrive may or may not have done it, so
    it is looked up before it is sent again."""

    def __init__(self, message: str) -> None:
        super().__init__(message, None, fatal=False)


class _Answer(BaseModel):
    """A whole answer, read within the size and time limits."""

    status_code: int
    headers: dict[str, str]
    content: bytes
    reason_phrase: str = ""

    def parsed(self) -> Any:
        return json.loads(self.content)


def api_base(url: Optional[str] = None) -> str:
    """The API root the client puts ``/v1/...`` after: ``--api-url``, else ``PIPEDRIVE_API_URL``, else the public one.

    A company domain (``https://acme.pipedrive.com``) gets its ``/api`` prefix. Plain http is refused except on
    this machine: the token would cross the network unencrypted.

    Raises:
        CrmError: not an http(s) URL, or plain http to another machine.
    """
    url = (url or os.environ.get(URL_ENV) or DEFAULT_API_URL).strip().rstrip("/")
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise CrmError(say("err.crm.url", url=repr(url), example=DEFAULT_API_URL))
    if parts.scheme == "http" and parts.hostname not in _LOOPBACK:
        raise CrmError(say("err.crm.plain_http", url=repr(url)))
    if url.endswith("/v1"):
        url = url[:-3]
    host = parts.hostname or ""
    if host.endswith(".pipedrive.com") and host != "api.pipedrive.com" and parts.path in ("", "/"):
        url += "/api"  # https://COMPANY.pipedrive.com/api/v1/...
    return url


def load_token(token_file: Optional[Path] = None) -> str:
    """The API token: from ``--token-file`` when given, else from ``PIPEDRIVE_API_TOKEN``.

    Raises:
        CrmError: no token anywhere, an unreadable or empty file.
    """
    if token_file is not None:
        try:
            token = token_file.read_text(encoding="utf-8").strip()
        except (OSError, UnicodeDecodeError) as exc:
            why = os_reason(exc) if isinstance(exc, OSError) else exc
            raise CrmError(say("err.crm.token_unreadable", path=token_file, why=why)) from None
        if not token:
            raise CrmError(say("err.crm.token_empty", path=token_file))
        return token
    token = os.environ.get(TOKEN_ENV, "").strip()
    if not token:
        raise CrmError(say("err.crm.no_token", env=TOKEN_ENV))
    return token


class PipedriveClient:
    """Requests to one Pipedrive company. Use as a context manager, or call :meth:`close`."""

    def __init__(self, base_url: str, token: str, *, retry: RetryPolicy | None = None,
                 sleep: Callable[[float], None] = time.sleep) -> None:
        self.base_url = base_url.rstrip("/")
        self.retry = retry or RetryPolicy()
        self._sleep = sleep
        self._http = httpx.Client(base_url=self.base_url, headers={"x-api-token": token, "accept": "application/json"},
                                  timeout=self.retry.timeout, follow_redirects=False)
        self.requests = 0              # how many HTTP requests were sent (retries included)
        self._sockets: "weakref.WeakSet[socket.socket]" = weakref.WeakSet()   # this client's connections
        self._cut = False

    def __repr__(self) -> str:
        return f"PipedriveClient({self.base_url!r})"

    def close(self) -> None:
        self._http.close()

    def __enter__(self) -> "PipedriveClient":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- verbs -------------------------------------------------------------------------------------
    def get(self, path: str, params: Mapping[str, Any] | None = None) -> Any:
        return self._data("GET", path, self._request("GET", path, params=params))

    def post(self, path: str, body: Mapping[str, Any], *, once: bool = False) -> Any:
        """POST ``body``; ``once``: never resend on its own after it may have arrived, and an answer that says
        nothing (not JSON) is no answer either (:class:`UnsureWrite`)."""
        response = self._request("POST", path, once=once, json=dict(body))
        try:
            return self._data("POST", path, response)
        except CrmError as exc:
            if once and response.status_code < 300 and getattr(exc.args[0], "key", "") == "err.crm.not_json":
                raise UnsureWrite(str(exc)) from None
            raise

    def put(self, path: str, body: Mapping[str, Any]) -> Any:
        return self._data("PUT", path, self._request("PUT", path, json=dict(body)))

    def upload(self, path: str, file: Path) -> bool:
        """Send ``file`` as the multipart field ``file``; False when Pipedrive already has one (409).

        Raises:
            CrmError: the file cannot be read, or the request fails.
        """
        try:
            content = file.read_bytes()
        except OSError as exc:
            raise CrmError(say("err.crm.recording_unreadable", path=file, why=os_reason(exc)), fatal=False) from None
        response = self._request("POST", path, files={"file": (file.name, content)}, accept=(409,))
        return response.status_code != 409

    def paginate(self, path: str, params: Mapping[str, Any] | None = None, limit: int = 100) -> Iterator[dict]:
        """Every item of a collection, page by page (``start``/``limit``) until ``more_items_in_collection`` is
        false; a search's ``data.items`` are walked the same way. At most ``max_pages`` pages, each one further on.

        Raises:
            CrmError: a request fails, an answer is not a page, the pages never end or go back.
        """
        start, seen = 0, set()
        for _ in range(self.retry.max_pages):
            seen.add(start)
            body = _body(self._request("GET", path, params={**(params or {}), "start": start, "limit": limit}),
                         "GET", path)
            data = body.get("data") if isinstance(body, dict) else None
            items = data.get("items", []) if isinstance(data, dict) else data
            items = [item for item in items if isinstance(item, dict)] if isinstance(items, list) else []
            yield from items
            page = (body.get("additional_data") or {}).get("pagination") if isinstance(body, dict) else None
            if not isinstance(page, dict) or not page.get("more_items_in_collection") or not items:
                return
            start = _int_or(page.get("next_start"), start + len(items))
            if start in seen or start < 0:
                raise CrmError(say("err.crm.page_again", path=path, start=start), fatal=False)
        raise CrmError(say("err.crm.pages_endless", path=path, pages=self.retry.max_pages), fatal=False)

    # -- the request loop --------------------------------------------------------------------------
    def _request(self, method: str, path: str, *, accept: tuple[int, ...] = (), once: bool = False,
                 **kwargs: Any) -> _Answer:
        """One request with its retries, within ``deadline`` seconds (sleeps counted even when not real)."""
        began, waited = time.monotonic(), 0.0
        failures = limited = 0
        call = f"{method} /v1{path}"
        while True:
            left = self.retry.deadline - max(time.monotonic() - began, waited)
            if left <= 0:
                raise self._late(call)
            try:
                self.requests += 1
                response = self._send(method, path, min(self.retry.timeout, left), began + left, **kwargs)
            except httpx.TransportError as exc:
                unsent = isinstance(exc, (httpx.ConnectError, httpx.ConnectTimeout))
                if once and not unsent:
                    raise UnsureWrite(say("err.crm.answer_lost", call=call, why=transport_reason(exc))) from None
                failures += 1
                if failures > self.retry.server_errors:
                    raise CrmError(say("err.crm.unreachable", url=self.base_url, why=transport_reason(exc),
                                       tries=failures)) from None
                waited += self._pause(self.retry.backoff * 2 ** (failures - 1), call, began, waited)
                continue
            except CrmError as exc:   # cut at the deadline or the size cap: a write may have been done
                if once:
                    raise UnsureWrite(str(exc)) from None
                raise
            status = response.status_code
            if status < 300 or status in accept:
                return response
            if status < 400:
                where = response.headers.get("location", "?")
                raise CrmError(say("err.crm.redirected", call=call, status=status, where=where), status)
            if status == 429:
                limited += 1
                if limited > self.retry.rate_limited:
                    raise CrmError(say("err.crm.rate_limited", call=call, waits=limited), status)
                wait = self._wait(response, limited)
                if wait > self.retry.max_wait:
                    raise CrmError(say("err.crm.wait_too_long", call=call, seconds=f"{wait:.0f}"), status)
                waited += self._pause(wait, call, began, waited)
                continue
            if status >= 500:
                if once:
                    raise UnsureWrite(say("err.crm.answered", call=call, status=status))
                failures += 1
                if failures > self.retry.server_errors:
                    raise CrmError(say("err.crm.server_errors", call=call, status=status, times=failures), status)
                waited += self._pause(self.retry.backoff * 2 ** (failures - 1), call, began, waited)
                continue
            raise self._refusal(method, path, response)

    def _send(self, method: str, path: str, timeout: float, deadline: float, **kwargs: Any) -> _Answer:
        """One request, its answer read in pieces: refused past ``max_bytes`` or ``deadline``, never held whole
        before that."""
        call = f"{method} /v1{path}"
        # A server may trickle its headers a byte at a time: no read ever times out, so at the deadline a
        # watchdog shuts this client's connections down (the pool opens new ones for the next request).
        self._cut = False
        watchdog = threading.Timer(max(deadline - time.monotonic(), 0.0), self._shut_down)
        watchdog.daemon = True
        watchdog.start()
        try:
            answer = self._read(method, path, call, timeout, deadline, **kwargs)
            if self._cut:       # cut short: what came is not the whole answer
                raise self._late(call)
            return answer
        except httpx.TransportError:
            if self._cut:
                raise self._late(call) from None
            raise
        finally:
            watchdog.cancel()

    def _shut_down(self) -> None:
        self._cut = True
        for sock in list(self._sockets):
            try:
                sock.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass

    def _trace(self, event: str, info: dict) -> None:
        if event == "connection.connect_tcp.complete":
            sock = info["return_value"].get_extra_info("socket")
            if sock is not None:
                self._sockets.add(sock)

    def _read(self, method: str, path: str, call: str, timeout: float, deadline: float, **kwargs: Any) -> _Answer:
        with self._http.stream(method, "/v1" + path, timeout=timeout, extensions={"trace": self._trace},
                               **kwargs) as response:
            declared = _int_or(response.headers.get("content-length"), 0)
            content = bytearray()
            if declared <= self.retry.max_bytes:
                for chunk in response.iter_bytes():
                    content += chunk
                    if len(content) > self.retry.max_bytes:
                        break
                    if time.monotonic() > deadline:
                        raise self._late(call)
            if max(declared, len(content)) > self.retry.max_bytes:
                raise CrmError(say("err.crm.too_large", call=call, mb=f"{self.retry.max_bytes / 1e6:.0f}"),
                               response.status_code, fatal=False)
            return _Answer(status_code=response.status_code, headers=dict(response.headers), content=bytes(content),
                           reason_phrase=response.reason_phrase)

    def _late(self, call: str) -> CrmError:
        return CrmError(say("err.crm.late", call=call, seconds=f"{self.retry.deadline:g}"), fatal=False)

    def _pause(self, wait: float, call: str, began: float, waited: float) -> float:
        """Sleep ``wait`` seconds unless that would pass the deadline; the seconds slept."""
        if max(time.monotonic() - began, waited) + wait > self.retry.deadline:
            raise self._late(call)
        self._sleep(wait)
        return wait

    def _wait(self, response: _Answer, attempt: int) -> float:
        return rate_limit_wait(response, attempt, self.retry)

    def _refusal(self, method: str, path: str, response: _Answer) -> CrmError:
        status = response.status_code
        if status == 401:
            return CrmError(say("err.crm.token_refused"), status)
        if status == 403:
            return CrmError(say("err.crm.no_permission", call=f"{method} /v1{path}", said=quoted(_said(response))), status)
        return CrmError(say("err.crm.rejected", call=f"{method} /v1{path}", status=status,
                            said=http_reason(status, "Pipedrive", _said(response))),
                        status, fatal=False)

    @staticmethod
    def _data(method: str, path: str, response: _Answer) -> Any:
        body = _body(response, method, path)
        if isinstance(body, dict) and body.get("success") is False:
            raise CrmError(say("err.crm.unsuccessful", said=quoted(_said(response))), response.status_code, fatal=False)
        return body.get("data") if isinstance(body, dict) else None


def _body(response: _Answer, method: str, path: str) -> Any:
    """The answer's JSON.

    Raises:
        CrmError: it is not JSON (a login page, a proxy's error page).
    """
    try:
        return response.parsed()
    except ValueError:
        kind = (response.headers.get("content-type") or "—").split(";")[0]
        raise CrmError(say("err.crm.not_json", call=f"{method} /v1{path}", status=response.status_code, kind=kind),
                       response.status_code, fatal=False) from None


def rate_limit_wait(response: Any, attempt: int, retry: RetryPolicy) -> float:
    """Seconds to wait after a 429: ``retry-after`` (seconds or a date), else ``x-ratelimit-reset`` (seconds, or
    the Unix time the window reopens, as some APIs send it), else the doubling backoff; nonsense (``nan``,
    ``soon``) counts as absent. Shared by every HTTP client here (Pipedrive, the PBX sources); the caller decides
    what a wait over ``retry.max_wait`` means."""
    for header in ("retry-after", "x-ratelimit-reset"):
        wait = _seconds(response.headers.get(header, ""))
        if wait is not None:
            if header == "x-ratelimit-reset" and wait > 1e9:
                wait -= time.time()
            return max(wait, 0.0)
    return retry.backoff * 2 ** attempt


def _seconds(header: str) -> Optional[float]:
    """A ``retry-after`` value in seconds: a number or an HTTP date; None when it is neither or not finite."""
    header = header.strip()
    if not header:
        return None
    try:
        wait = float(header)
    except ValueError:
        try:
            when = email.utils.parsedate_to_datetime(header)
        except (TypeError, ValueError, IndexError, OverflowError):
            return None
        if when is None:
            return None
        wait = when.timestamp() - time.time()  # a date without a zone is read as local time: only late, never early
    return wait if math.isfinite(wait) else None


def _int_or(value: Any, default: int) -> int:
    try:
        return int(value)
    except (TypeError, ValueError, OverflowError):
        return default


def _said(response: _Answer) -> str:
    """What Pipedrive said was wrong, from its error body (``error``, ``error_info``), kept short."""
    try:
        body = response.parsed()
    except ValueError:
        return response.reason_phrase or "—"
    if not isinstance(body, dict):
        return "—"
    text = " — ".join(str(body[k]) for k in ("error", "error_info") if body.get(k))
    return (text or "—")[:300]
