"""The one HTTP loop of the PBX sources (retries, rate limits, size and time caps) and the atomic download.

Retries and waits follow the Pipedrive client's policy (``RetryPolicy``, ``rate_limit_wait``): a server down for
a moment is retried with a doubling backoff, a 429 waits as its headers say. Every answer is read as a stream
with a cap on its size and on its total time, so a huge or endlessly slow answer fails one request, not the run.
A recording goes to a hidden temporary file beside its place and is renamed in only when it is complete.
"""
from __future__ import annotations

import contextlib
import hashlib
import json
import os
import time
from pathlib import Path
from typing import Any, Callable, Optional

import httpx
from pydantic import BaseModel

from compliance.crm.pipedrive import RetryPolicy, rate_limit_wait
from compliance.errors import SourceError
from compliance.text.catalogue import say
from compliance.text.os_errors import os_reason
from compliance.text.third_party import transport_reason


class Limits(BaseModel):
    """Caps on what one answer may be."""

    json_bytes: int = 32 << 20          # a listing larger than this is not a listing
    recording_bytes: int = 1 << 30      # an hour of wav is ~600 MB
    seconds: float = 600.0              # one answer, start to end


class Downloaded(BaseModel):
    path: Path
    size: int
    sha256: str


class Http:
    """Requests to one vendor: ``name`` is how errors call it."""

    def __init__(self, name: str, base_url: str, *, retry: RetryPolicy | None = None, limits: Limits | None = None,
                 sleep: Callable[[float], None] = time.sleep) -> None:
        self.name = name
        self.base_url = base_url.rstrip("/")
        self.retry = retry or RetryPolicy()
        self.limits = limits or Limits()
        self.sleep = sleep
        self.requests = 0
        self._http = httpx.Client(timeout=self.retry.timeout, follow_redirects=True,
                                  headers={"user-agent": "call-compliance"})

    def close(self) -> None:
        self._http.close()

    def send(self, method: str, url: str, *, accept: tuple[int, ...] = (), **kwargs: Any) -> tuple[int, bytes, httpx.Headers]:
        """One request with retries: (status, body, headers) of the first answer that is not a 5xx or a 429.

        Raises:
            SourceError: no answer after the retries, a 429 that never ends, an answer over the caps.
        """
        failures = limited = 0
        while True:
            self.requests += 1
            try:
                status, body, headers = self._once(method, url, self.limits.json_bytes, **kwargs)
            except httpx.TransportError as exc:
                failures += 1
                if failures > self.retry.server_errors:
                    raise SourceError(say("err.pbx.unreachable", name=self.name, url=self.base_url,
                                          why=transport_reason(exc), tries=failures)) from None
                self.sleep(self.retry.backoff * 2 ** (failures - 1))
                continue
            if status == 429 and 429 not in accept:
                limited += 1
                if limited > self.retry.rate_limited:
                    raise SourceError(say("err.pbx.rate_limited", name=self.name, waits=limited))
                self.sleep(min(rate_limit_wait(httpx.Response(429, headers=headers), limited, self.retry), self.retry.max_wait))
                continue
            if status >= 500 and status not in accept:
                failures += 1
                if failures > self.retry.server_errors:
                    raise SourceError(say("err.pbx.server_errors", name=self.name, status=status, times=failures))
                self.sleep(self.retry.backoff * 2 ** (failures - 1))
                continue
            return status, body, headers

    def _once(self, method: str, url: str, cap: int, **kwargs: Any) -> tuple[int, bytes, httpx.Headers]:
        deadline = time.monotonic() + self.limits.seconds
        with self._http.stream(method, url, **kwargs) as response:
            chunks, size = [], 0
            for chunk in response.iter_bytes():
                size += len(chunk)
                if size > cap:
                    raise SourceError(say("err.pbx.too_large", name=self.name, size=_size(cap)))
                if time.monotonic() > deadline:
                    raise SourceError(say("err.pbx.slow", name=self.name, seconds=f"{self.limits.seconds:.0f}"))
                chunks.append(chunk)
            return response.status_code, b"".join(chunks), response.headers

    def download(self, url: str, dest: Path) -> Downloaded:
        """Stream ``url`` into ``dest``: a hidden ``.part`` file beside it, renamed in once complete and as long as
        the server said. An expired or refused link raises ``SourceError`` with ``gone=False`` (ask for a new
        link); the server saying the file is not there, ``gone=True``.

        Raises:
            SourceError: the link refused, the download cut short, over the caps, or the folder not writable.
        """
        part = dest.with_name(f".{dest.name}.part")
        deadline = time.monotonic() + self.limits.seconds
        digest, size = hashlib.sha256(), 0
        try:
            dest.parent.mkdir(parents=True, exist_ok=True)
            self.requests += 1
            with self._http.stream("GET", url) as response:
                if response.status_code >= 400:
                    raise LinkRefused(response.status_code)
                expected = response.headers.get("content-length")
                with open(part, "wb") as fh:
                    for chunk in response.iter_bytes(1 << 16):
                        size += len(chunk)
                        if size > self.limits.recording_bytes:
                            raise SourceError(say("err.pbx.recording_too_large", size=_size(self.limits.recording_bytes)))
                        if time.monotonic() > deadline:
                            raise SourceError(say("err.pbx.download_slow", seconds=f"{self.limits.seconds:.0f}"))
                        digest.update(chunk)
                        fh.write(chunk)
                    fh.flush()
                    os.fsync(fh.fileno())
            if expected is not None and expected.isdigit() and int(expected) != size:
                raise SourceError(say("err.pbx.cut_short", size=size, expected=expected))
            if size == 0:
                raise SourceError(say("err.pbx.empty_recording"))
            os.replace(part, dest)
        except httpx.TransportError as exc:
            raise SourceError(say("err.pbx.cut_off", why=transport_reason(exc), size=size)) from None
        except OSError as exc:
            raise SourceError(say("err.pbx.unwritable", folder=dest.parent, why=os_reason(exc)), fatal=True) from None
        finally:
            with contextlib.suppress(OSError):  # nothing to remove where the folder could not be made
                part.unlink(missing_ok=True)
        return Downloaded(path=dest, size=size, sha256=digest.hexdigest())


class LinkRefused(SourceError):
    """The recording link answered an error: expired (403/410), or not there (404)."""

    def __init__(self, status: int) -> None:
        super().__init__(say("err.pbx.link_refused", status=status), gone=status == 404)
        self.status = status


def _size(n: int) -> str:
    return say("err.pbx.mb", n=n >> 20) if n >= 1 << 20 else say("err.pbx.bytes", n=n)


def parse_json(name: str, body: bytes, what: str) -> Any:
    """The JSON of an answer, or one clear error saying which request sent something else.

    Raises:
        SourceError: not JSON.
    """
    try:
        return json.loads(body.decode("utf-8-sig"))
    except (UnicodeDecodeError, ValueError):
        head = body[:60].decode("utf-8", "replace").replace("\n", " ")
        raise SourceError(say("err.pbx.not_json", name=name, what=what, head=repr(head))) from None


def vendor_message(body: Any) -> Optional[str]:
    if isinstance(body, dict):
        text = body.get("message") or body.get("error")
        return str(text)[:200] if text else None
    return None
