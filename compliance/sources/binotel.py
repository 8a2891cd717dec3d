"""Binotel REST API 4.0: calls for a period and links to their recordings.

As Binotel documents it: every request is a POST of raw JSON to ``{base}/4.0/{section}/{method}.json`` whose body
carries ``key`` and ``secret``; the answer is ``{"status": "success", …}`` or, still with HTTP 200,
``{"status": "error", "code": N, "message": "…"}`` — code 106 means "requests are too frequent" (wait, then ask
again), 120 a disabled company and 121 a wrong key or secret. ``stats/incoming-calls-for-period`` and
``stats/outgoing-calls-for-period`` take ``startTime``/``stopTime`` (Unix time) and are asked one day at a time;
``stats/call-record`` gives a link to one call's recording that lives 15 minutes, so a link is asked for right
before its download and asked for again when it has expired.
"""
from __future__ import annotations

import datetime as dt
from typing import Any, Callable, Iterator, Optional

from compliance.crm.pipedrive import RetryPolicy
from compliance.errors import SourceError
from compliance.sources.credentials import Credentials
from compliance.sources.http import Http, Limits, parse_json
from compliance.sources.model import PbxCall
from compliance.text.catalogue import say
from compliance.text.third_party import quoted

DEFAULT_URL = "https://api.binotel.com/api/4.0"
URL_ENV = "BINOTEL_API_URL"
_THROTTLED, _DISABLED, _WRONG_KEY = 106, 120, 121
_ANSWERED = {"ANSWER", "VM-SUCCESS", "SUCCESS", "TRANSFER"}
_BUSY = {"BUSY"}
_NO_ANSWER = {"NOANSWER", "CANCEL", "VM"}


class BinotelClient:
    """One Binotel company. ``close`` when done."""

    name = "binotel"

    def __init__(self, credentials: Credentials, base_url: str = DEFAULT_URL, *, retry: RetryPolicy | None = None,
                 limits: Limits | None = None, sleep: Optional[Callable[[float], None]] = None) -> None:
        self._key, self._secret = credentials.values()
        self.http = Http("Binotel", base_url, retry=retry, limits=limits, **({"sleep": sleep} if sleep else {}))

    def __repr__(self) -> str:
        return f"BinotelClient({self.http.base_url!r})"

    def close(self) -> None:
        self.http.close()

    def request(self, method: str, params: dict[str, Any]) -> dict[str, Any]:
        """One API method; a throttled answer (code 106) is waited out and asked again.

        Raises:
            SourceError: wrong key (fatal), disabled company (fatal), any other error status, not JSON.
        """
        throttled = 0
        while True:
            body = {**params, "key": self._key, "secret": self._secret}
            status, raw, _ = self.http.send("POST", f"{self.http.base_url}/{method}.json", json=body)
            data = parse_json("Binotel", raw, method) if status == 200 else None
            if status != 200:
                raise SourceError(say("err.pbx.binotel_status", status=status, method=method),
                                  fatal=status in (401, 403))
            if not isinstance(data, dict):
                raise SourceError(say("err.pbx.binotel_shape", method=method))
            if data.get("status") == "success":
                return data
            code = _int(data.get("code"))
            said = str(data.get("message") or "—")[:200]
            if code == _THROTTLED:
                throttled += 1
                if throttled > self.http.retry.rate_limited:
                    raise SourceError(say("err.pbx.binotel_throttled", method=method))
                self.http.sleep(min(self.http.retry.backoff * 2 ** throttled, self.http.retry.max_wait))
                continue
            if code == _WRONG_KEY:
                raise SourceError(say("err.pbx.binotel_key"), fatal=True)
            if code == _DISABLED:
                raise SourceError(say("err.pbx.binotel_disabled"), fatal=True)
            raise SourceError(say("err.pbx.binotel_refused", method=method, code=code, said=quoted(said)))

    def calls(self, since: dt.date, until: dt.date) -> Iterator[PbxCall]:
        """Incoming and outgoing calls, day by day (local midnight to 23:59:59)."""
        day = since
        while day <= until:
            start = int(dt.datetime.combine(day, dt.time()).timestamp())
            stop = int(dt.datetime.combine(day, dt.time(23, 59, 59)).timestamp())
            for method in ("stats/incoming-calls-for-period", "stats/outgoing-calls-for-period"):
                data = self.request(method, {"startTime": start, "stopTime": stop})
                details = data.get("callDetails") or {}
                items = details.values() if isinstance(details, dict) else details
                for item in items:
                    call = read_call(item)
                    if call is not None:
                        yield call
            day += dt.timedelta(days=1)

    def record_link(self, call: PbxCall) -> str:
        """A fresh link to the call's recording (it lives 15 minutes).

        Raises:
            SourceError: ``gone`` when Binotel has no recording of this call.
        """
        try:
            data = self.request("stats/call-record", {"generalCallID": call.record_ref or call.call_id})
        except SourceError as exc:
            if not exc.fatal and getattr(exc.args[0], "values", {}).get("code") == 104:   # "wrong data": no such
                raise SourceError(say("err.pbx.binotel_no_recording", why=exc), gone=True) from None  # call or recording
            raise
        url = data.get("url")
        if not isinstance(url, str) or not url.startswith(("http://", "https://")):
            raise SourceError(say("err.pbx.binotel_no_link"))
        return url


def _int(value: Any) -> Optional[int]:
    try:
        return int(value)
    except (TypeError, ValueError):
        return None


def read_call(item: Any) -> Optional[PbxCall]:
    """One ``callDetails`` entry as a ``PbxCall`` (None: not a call record)."""
    if not isinstance(item, dict) or not item.get("generalCallID") or _int(item.get("startTime")) is None:
        return None
    disposition = str(item.get("disposition") or "").upper()
    talk = _int(item.get("billsec")) or 0
    answered = disposition in _ANSWERED
    employee = item.get("employeeData") if isinstance(item.get("employeeData"), dict) else {}
    recording = str(item.get("recordingStatus") or "uploaded")
    return PbxCall(
        provider="binotel", call_id=str(item["generalCallID"]),
        direction="out" if str(item.get("callType")) == "1" else "in",
        client=str(item.get("externalNumber") or ""),
        start=dt.datetime.fromtimestamp(int(item["startTime"])),
        talk_seconds=talk,
        disposition="answered" if answered else "busy" if disposition in _BUSY
        else "no_answer" if disposition in _NO_ANSWER else "failed",
        extension=str(item.get("internalNumber") or ""),
        employee=str((employee or {}).get("name") or ""),
        has_record=answered and talk > 0 and recording == "uploaded",
        record_ref=str(item["generalCallID"]))
