"""Zadarma API v1: PBX call statistics and links to the recordings.

As Zadarma's own SDKs (user-api-v1 for PHP, user-api-py-v1) sign a request: the parameters, ``format=json``
included, are sorted by name and URL-encoded (``params``); the signature is
``base64(hex(HMAC-SHA1(secret, method + params + md5_hex(params))))`` — base64 of the *hex* digest, not of the raw
bytes — sent as ``Authorization: KEY:SIGNATURE``. ``/v1/statistics/pbx/`` (``version=2``) takes ``start``/``end``
(``YYYY-MM-DD HH:MM:SS``, at most a month apart), pages with ``skip``/``limit`` (at most 1000 a page) and filters
by ``call_type`` (in/out); each row is one leg, and the legs of one call share its ``pbx_call_id``, the call's
stable id. ``/v1/pbx/record/request/`` gives a link to one leg's recording that lives ``lifetime`` seconds.
Too many requests: HTTP 429 with the rate-limit headers, waited out.
"""
from __future__ import annotations

import base64
import datetime as dt
import hashlib
import hmac
from typing import Any, Callable, Iterator, Optional
from urllib.parse import urlencode

from compliance.crm.pipedrive import RetryPolicy
from compliance.errors import SourceError
from compliance.sources.credentials import Credentials
from compliance.sources.http import Http, Limits, parse_json, vendor_message
from compliance.sources.model import PbxCall
from compliance.text.catalogue import say
from compliance.text.third_party import http_reason, quoted

DEFAULT_URL = "https://api.zadarma.com"
URL_ENV = "ZADARMA_API_URL"
PAGE = 1000
MAX_SPAN_DAYS = 30
LINK_LIFETIME = 1800
_STATS = "/v1/statistics/pbx/"
_RECORD = "/v1/pbx/record/request/"
_NO_ANSWER = {"no answer", "cancel", "noanswer"}


def sign(method: str, params: dict[str, Any], secret: str) -> str:
    """The signature of one request, exactly as Zadarma's SDKs compute it."""
    query = urlencode(sorted((k, str(v)) for k, v in params.items()))
    data = method + query + hashlib.md5(query.encode("utf-8")).hexdigest()
    digest = hmac.new(secret.encode("utf-8"), data.encode("utf-8"), hashlib.sha1).hexdigest()
    return base64.b64encode(digest.encode("utf-8")).decode("ascii")


class ZadarmaClient:
    """One Zadarma account. ``close`` when done."""

    name = "zadarma"

    def __init__(self, credentials: Credentials, base_url: str = DEFAULT_URL, *, retry: RetryPolicy | None = None,
                 limits: Limits | None = None, sleep: Optional[Callable[[float], None]] = None) -> None:
        self._key, self._secret = credentials.values()
        self.http = Http("Zadarma", base_url, retry=retry, limits=limits, **({"sleep": sleep} if sleep else {}))

    def __repr__(self) -> str:
        return f"ZadarmaClient({self.http.base_url!r})"

    def close(self) -> None:
        self.http.close()

    def request(self, method: str, params: dict[str, Any]) -> dict[str, Any]:
        """One signed GET.

        Raises:
            SourceError: a refused key (fatal), an error status, not JSON; ``gone`` on a 404 of the method.
        """
        params = {**params, "format": "json"}
        query = urlencode(sorted((k, str(v)) for k, v in params.items()))
        auth = f"{self._key}:{sign(method, params, self._secret)}"
        status, raw, _ = self.http.send("GET", f"{self.http.base_url}{method}?{query}",
                                        headers={"Authorization": auth})
        if status == 401:
            raise SourceError(say("err.pbx.zadarma_key"), fatal=True)
        data = parse_json("Zadarma", raw, method)
        said = vendor_message(data) or "—"
        if status == 403:
            raise SourceError(say("err.pbx.zadarma_permission", method=method, said=quoted(said)), fatal=True)
        if status >= 400 or not isinstance(data, dict) or data.get("status") != "success":
            gone = status == 404 or "not found" in said.lower()
            why = http_reason(status, "Zadarma", said) if status >= 400 else quoted(said)
            raise SourceError(say("err.pbx.zadarma_refused", method=method, status=status, said=why), gone=gone)
        return data

    def calls(self, since: dt.date, until: dt.date) -> Iterator[PbxCall]:
        """Every call of the period (at most a month per request, 1000 rows a page), one per ``pbx_call_id``."""
        legs: dict[str, PbxCall] = {}
        start = since
        while start <= until:
            end = min(until, start + dt.timedelta(days=MAX_SPAN_DAYS - 1))
            for call_type in ("in", "out"):
                for item in self._pages(start, end, call_type):
                    call = _call(item, "out" if call_type == "out" else "in")
                    if call is not None:
                        legs[call.call_id] = _better(legs.get(call.call_id), call)
            start = end + dt.timedelta(days=1)
        yield from sorted(legs.values(), key=lambda c: (c.start, c.call_id))

    def _pages(self, start: dt.date, end: dt.date, call_type: str) -> Iterator[dict]:
        skip = 0
        while True:
            data = self.request(_STATS, {"start": f"{start} 00:00:00", "end": f"{end} 23:59:59", "version": 2,
                                         "call_type": call_type, "skip": skip, "limit": PAGE})
            stats = data.get("stats") or []
            if not isinstance(stats, list):
                raise SourceError(say("err.pbx.zadarma_stats", method=_STATS))
            yield from (s for s in stats if isinstance(s, dict))
            if len(stats) < PAGE:
                return
            skip += PAGE

    def record_link(self, call: PbxCall) -> str:
        """A fresh link to the answered leg's recording.

        Raises:
            SourceError: ``gone`` when Zadarma has no recording of this call.
        """
        data = self.request(_RECORD, {"call_id": call.record_ref, "lifetime": LINK_LIFETIME} if call.record_ref
                            else {"pbx_call_id": call.call_id, "lifetime": LINK_LIFETIME})
        link = data.get("link") or next(iter(data.get("links") or []), None)
        if not isinstance(link, str) or not link.startswith(("http://", "https://")):
            raise SourceError(say("err.pbx.zadarma_no_recording"), gone=True)
        return link


def _better(old: Optional[PbxCall], new: PbxCall) -> PbxCall:
    """Of two legs of one call, the one that tells most: answered and recorded over anything else."""
    if old is None:
        return new
    rank = lambda c: (c.scorable, c.disposition == "answered", c.talk_seconds)  # noqa: E731
    return new if rank(new) > rank(old) else old


def _call(item: dict, direction: str) -> Optional[PbxCall]:
    pbx_id = str(item.get("pbx_call_id") or item.get("call_id") or "")
    try:
        start = dt.datetime.strptime(str(item.get("callstart")), "%Y-%m-%d %H:%M:%S")
    except ValueError:
        return None
    if not pbx_id:
        return None
    disposition = str(item.get("disposition") or "").lower()
    answered = disposition == "answered"
    talk = int(item.get("seconds") or 0) if str(item.get("seconds") or "0").isdigit() else 0
    recorded = str(item.get("is_recorded")).lower() in ("true", "1")
    client = item.get("destination") if direction == "out" else item.get("clid")
    return PbxCall(provider="zadarma", call_id=pbx_id, direction=direction,  # type: ignore[arg-type]
                   client=str(client or ""), start=start, talk_seconds=talk,
                   disposition="answered" if answered else "busy" if disposition == "busy"
                   else "no_answer" if disposition in _NO_ANSWER else "failed",
                   extension=str(item.get("sip") or ""), has_record=answered and recorded,
                   record_ref=str(item.get("call_id") or ""))
