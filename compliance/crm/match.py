"""Which Pipedrive deal or person a stored call belongs to.

First the telephony's own record: a call log (``GET /v1/callLogs``) with the same number that started within a
tolerance of the call's time. Else the client's number among persons (``GET /v1/persons/search``), and the
person's one open deal. A call is never attached by a guess: several persons with the number, or none, leave it
unmatched with the reason.
"""
from __future__ import annotations

import datetime as dt
import re
from typing import Literal, Optional
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import BaseModel

from compliance.errors import CrmError
from compliance.scoring.result import CallRecord
from compliance.text.catalogue import say

from .pipedrive import PipedriveClient

PIPEDRIVE_TIME = "%Y-%m-%d %H:%M:%S"   # call logs' start_time and end_time: UTC
_SAME_DIGITS = 10                       # a national number without its trunk or country prefix
_MIN_DIGITS = 7


def phone_digits(phone: Optional[str]) -> str:
    """The digits of a phone number as people write it (``+38 (099) 123-45-67`` → ``380991234567``)."""
    return re.sub(r"\D", "", phone or "")


def same_phone(a: Optional[str], b: Optional[str]) -> bool:
    """Whether two numbers are the same line: their last ten digits agree (or all of the shorter one), so
    ``380991234567``, ``0991234567`` and ``+7 916…`` / ``8 916…`` written either way meet."""
    da, db = phone_digits(a), phone_digits(b)
    if len(da) < _MIN_DIGITS or len(db) < _MIN_DIGITS:
        return False
    n = min(len(da), len(db), _SAME_DIGITS)
    return da[-n:] == db[-n:]


def load_zone(name: Optional[str]) -> dt.tzinfo:
    """The time zone the recorder's clock was in (an IANA name; None: this machine's).

    Raises:
        CrmError: an unknown zone name.
    """
    if not name:
        local = dt.datetime.now().astimezone().tzinfo
        assert local is not None
        return local
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise CrmError(say("err.crm.timezone", name=repr(name))) from None


def call_start_utc(record: CallRecord, zone: dt.tzinfo) -> Optional[dt.datetime]:
    """When the call started, in UTC (naive), from its stored local date and time; None without a time."""
    if not record.date or not record.time:
        return None
    try:
        local = dt.datetime.fromisoformat(f"{record.date}T{record.time}")
    except ValueError:
        return None
    return local.replace(tzinfo=zone).astimezone(dt.timezone.utc).replace(tzinfo=None)


class Target(BaseModel):
    """Where a call's note goes in Pipedrive, and how that was found."""

    deal_id: Optional[int] = None
    person_id: Optional[int] = None
    call_log_id: Optional[str] = None             # the telephony's call log of this call, when one matched
    via: Literal["call_log", "person", "none"] = "none"
    reason: str = ""                              # why there is no target

    @property
    def found(self) -> bool:
        return bool(self.deal_id or self.person_id)

    def describe(self) -> str:
        parts = [f"deal {self.deal_id}" if self.deal_id else "", f"person {self.person_id}" if self.person_id else ""]
        return ", ".join(p for p in parts if p) or "—"


class Matcher:
    """Finds targets for calls; call logs are read once per push, searches once per number."""

    def __init__(self, client: PipedriveClient, zone: dt.tzinfo, tolerance: dt.timedelta) -> None:
        self.client = client
        self.zone = zone
        self.tolerance = tolerance
        self._logs: Optional[list[dict]] = None
        self._logs_error: Optional[CrmError] = None     # the listing failed: each call says so, none reads again
        self._persons: dict[str, list[dict]] = {}
        self._deals: dict[int, Optional[int]] = {}

    def target(self, record: CallRecord, phone: Optional[str]) -> Target:
        """The deal or person of one call (``phone``: the client's number stored with the call)."""
        if len(phone_digits(phone)) < _MIN_DIGITS:
            return Target(reason=say("err.crm.no_phone"))
        start = call_start_utc(record, self.zone)
        log = self.call_log(phone, start) if start and record.result.channel == "call" else None
        if log is not None:
            deal, person = _int(log.get("deal_id")), _int(log.get("person_id"))
            found = Target(deal_id=deal, person_id=person, call_log_id=str(log["id"]), via="call_log")
            if deal:
                return found
            if person:
                return found.model_copy(update={"deal_id": self.open_deal(person)})
        by_person = self.by_person(phone)
        if log is not None:
            by_person.call_log_id = str(log["id"])
        return by_person

    def call_log(self, phone: Optional[str], start: dt.datetime) -> Optional[dict]:
        """The call log nearest ``start`` (UTC) within the tolerance, with this number on either end."""
        if self._logs_error is not None:
            raise self._logs_error
        if self._logs is None:
            try:
                self._logs = list(self.client.paginate("/callLogs", limit=50))
            except CrmError as exc:
                self._logs_error = exc
                raise
        best: tuple[dt.timedelta, dict] | None = None
        for log in self._logs:
            if not (same_phone(log.get("to_phone_number"), phone) or same_phone(log.get("from_phone_number"), phone)):
                continue
            try:
                began = dt.datetime.strptime(str(log.get("start_time")), PIPEDRIVE_TIME)
            except ValueError:
                continue
            gap = abs(began - start)
            if gap <= self.tolerance and (best is None or gap < best[0]):
                best = (gap, log)
        return best[1] if best else None

    def by_person(self, phone: Optional[str]) -> Target:
        """The one person with this number, and their one open deal."""
        digits = phone_digits(phone)
        if digits not in self._persons:
            term = digits[-_SAME_DIGITS:]
            found = self.client.paginate("/persons/search", {"term": term, "fields": "phone", "exact_match": "false"})
            self._persons[digits] = [it.get("item", it) for it in found
                                     if any(same_phone(p, phone) for p in _phones(it.get("item", it)))]
        persons = {int(p["id"]): p for p in self._persons[digits] if p.get("id")}
        if not persons:
            return Target(reason=say("err.crm.no_person", phone=phone))
        if len(persons) > 1:
            ids = ", ".join(str(i) for i in sorted(persons))
            return Target(reason=say("err.crm.several_persons", phone=phone, ids=ids))
        person = next(iter(persons))
        return Target(person_id=person, deal_id=self.open_deal(person), via="person")

    def open_deal(self, person: int) -> Optional[int]:
        """The person's open deal when there is exactly one (with several, the note stays on the person)."""
        if person not in self._deals:
            deals = [d for d in self.client.paginate(f"/persons/{person}/deals", {"status": "open"})
                     if isinstance(d, dict) and d.get("id")]
            self._deals[person] = int(deals[0]["id"]) if len(deals) == 1 else None
        return self._deals[person]


def _phones(item: dict) -> list[str]:
    """A search item's numbers: ``phones`` (search) or ``phone`` (a person: strings or {value: …})."""
    raw = item.get("phones") or item.get("phone") or []
    if isinstance(raw, str):
        return [raw]
    return [str(p.get("value", "")) if isinstance(p, dict) else str(p) for p in raw]


def _int(value: object) -> Optional[int]:
    """An id as Pipedrive returns it: a number, or an object with ``value``/``id`` on some endpoints."""
    if isinstance(value, dict):
        value = value.get("value", value.get("id"))
    if not isinstance(value, (int, str)) or isinstance(value, bool):
        return None
    try:
        return int(value) or None
    except ValueError:
        return None
