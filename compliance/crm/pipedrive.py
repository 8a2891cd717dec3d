"""A small Pipedrive API v1 client: base URL, the token header, pagination, waiting out rate limits, retrying a
server that is down for a moment, and one clear error for a refused token.

The token travels only in the ``x-api-token`` header (never in a URL, so no log line or error message can carry
it) and is never part of an error message or ``repr``.
"""
from __future__ import annotations

import email.utils
import os
import time
from pathlib import Path
from typing import Any, Callable, Iterator, Mapping, Optional
from urllib.parse import urlsplit

import httpx
from pydantic import BaseModel

from compliance.errors import CrmError

DEFAULT_API_URL = "https://api.pipedrive.com"
TOKEN_ENV = "PIPEDRIVE_API_TOKEN"
URL_ENV = "PIPEDRIVE_API_URL"
_LOOPBACK = {"127.0.0.1", "localhost", "::1"}


class RetryPolicy(BaseModel):
    """How hard the client tries before it gives up on a request."""

    server_errors: int = 3          # retries after a 5xx or no answer
    backoff: float = 0.5            # seconds before the first such retry; doubled each time
    rate_limited: int = 6           # retries after a 429
    max_wait: float = 120.0         # never sleep longer than this for one 429
    timeout: float = 30.0           # seconds for one request


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
        raise CrmError(f"--api-url {url!r}: not an http(s) URL (e.g. {DEFAULT_API_URL})")
    if parts.scheme == "http" and parts.hostname not in _LOOPBACK:
        raise CrmError(f"--api-url {url!r}: plain http would send the API token unencrypted; use https://")
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
            raise CrmError(f"{token_file}: cannot read the token file ({getattr(exc, 'strerror', None) or exc})") from None
        if not token:
            raise CrmError(f"{token_file}: the token file is empty")
        return token
    token = os.environ.get(TOKEN_ENV, "").strip()
    if not token:
        raise CrmError(f"no Pipedrive API token: set {TOKEN_ENV} or pass --token-file "
                       "(Pipedrive: Settings → Personal preferences → API)")
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
        return self._data(self._request("GET", path, params=params))

    def post(self, path: str, body: Mapping[str, Any]) -> Any:
        return self._data(self._request("POST", path, json=dict(body)))

    def put(self, path: str, body: Mapping[str, Any]) -> Any:
        return self._data(self._request("PUT", path, json=dict(body)))

    def upload(self, path: str, file: Path) -> bool:
        """Send ``file`` as the multipart field ``file``; False when Pipedrive already has one (409).

        Raises:
            CrmError: the file cannot be read, or the request fails.
        """
        try:
            content = file.read_bytes()
        except OSError as exc:
            raise CrmError(f"{file}: cannot read the recording ({exc.strerror})", fatal=False) from None
        response = self._request("POST", path, files={"file": (file.name, content)}, accept=(409,))
        return response.status_code != 409

    def paginate(self, path: str, params: Mapping[str, Any] | None = None, limit: int = 100) -> Iterator[dict]:
        """Every item of a collection, page by page (``start``/``limit``) until ``more_items_in_collection`` is
        false; a search's ``data.items`` are walked the same way."""
        start = 0
        while True:
            body = self._request("GET", path, params={**(params or {}), "start": start, "limit": limit}).json()
            data = body.get("data") or []
            items = data.get("items", []) if isinstance(data, dict) else data
            yield from items
            page = ((body.get("additional_data") or {}).get("pagination") or {})
            if not page.get("more_items_in_collection") or not items:
                return
            start = int(page.get("next_start", start + len(items)))

    # -- the request loop --------------------------------------------------------------------------
    def _request(self, method: str, path: str, *, accept: tuple[int, ...] = (), **kwargs: Any) -> httpx.Response:
        failures = limited = 0
        while True:
            try:
                self.requests += 1
                response = self._http.request(method, "/v1" + path, **kwargs)
            except httpx.TransportError as exc:
                failures += 1
                if failures > self.retry.server_errors:
                    raise CrmError(f"Pipedrive at {self.base_url} cannot be reached ({type(exc).__name__}) after "
                                   f"{failures} tries; check --api-url and the network") from None
                self._sleep(self.retry.backoff * 2 ** (failures - 1))
                continue
            status = response.status_code
            if status < 400 or status in accept:
                return response
            if status == 429:
                limited += 1
                if limited > self.retry.rate_limited:
                    raise CrmError(f"Pipedrive keeps answering 429 (rate limit) on {method} /v1{path} after "
                                   f"{limited} waits; try again later", status)
                self._sleep(self._wait(response, limited))
                continue
            if status >= 500:
                failures += 1
                if failures > self.retry.server_errors:
                    raise CrmError(f"Pipedrive answered {status} on {method} /v1{path} {failures} times; "
                                   "it may be down, try again later", status)
                self._sleep(self.retry.backoff * 2 ** (failures - 1))
                continue
            raise self._refusal(method, path, response)

    def _wait(self, response: httpx.Response, attempt: int) -> float:
        return rate_limit_wait(response, attempt, self.retry)

    def _refusal(self, method: str, path: str, response: httpx.Response) -> CrmError:
        status = response.status_code
        if status == 401:
            return CrmError("Pipedrive refused the API token (401 unauthorized): check PIPEDRIVE_API_TOKEN or "
                            "--token-file, and --api-url (the token belongs to one company)", status)
        if status == 403:
            return CrmError(f"Pipedrive: no permission for {method} /v1{path} (403): {_said(response)}; "
                            "see the README's Pipedrive section for the permissions needed", status)
        return CrmError(f"Pipedrive rejected {method} /v1{path} ({status}): {_said(response)}", status, fatal=False)

    @staticmethod
    def _data(response: httpx.Response) -> Any:
        try:
            body = response.json()
        except ValueError:
            raise CrmError(f"Pipedrive answered {response.status_code} without JSON on "
                           f"{response.request.method} {response.request.url.path}", response.status_code) from None
        if isinstance(body, dict) and body.get("success") is False:
            raise CrmError(f"Pipedrive: {_said(response)}", response.status_code, fatal=False)
        return body.get("data") if isinstance(body, dict) else None


def rate_limit_wait(response: httpx.Response, attempt: int, retry: RetryPolicy) -> float:
    """Seconds to wait after a 429: ``retry-after`` (seconds or a date), else ``x-ratelimit-reset`` (seconds to
    wait, or the Unix time the window reopens, as some APIs send it), else a doubling backoff; never longer than
    ``retry.max_wait``. Shared by every HTTP client here (Pipedrive, the PBX sources)."""
    wait: Optional[float] = None
    header = response.headers.get("retry-after")
    if header:
        try:
            wait = float(header)
        except ValueError:
            try:
                when = email.utils.parsedate_to_datetime(header)
            except (TypeError, ValueError):
                when = None
            wait = when.timestamp() - time.time() if when else None
    if wait is None and response.headers.get("x-ratelimit-reset"):
        try:
            wait = float(response.headers["x-ratelimit-reset"])
        except ValueError:
            wait = None
        if wait is not None and wait > 1e9:  # a Unix time, not a number of seconds
            wait -= time.time()
    if wait is None:
        wait = retry.backoff * 2 ** attempt
    return min(max(wait, 0.0), retry.max_wait)


def _said(response: httpx.Response) -> str:
    """What Pipedrive said was wrong, from its error body (``error``, ``error_info``), kept short."""
    try:
        body = response.json()
    except ValueError:
        return response.reason_phrase or "no details"
    if not isinstance(body, dict):
        return "no details"
    text = " — ".join(str(body[k]) for k in ("error", "error_info") if body.get(k))
    return (text or "no details")[:300]
