"""A PBX's call-completed webhook: checked, read as a ``PbxCall``, and queued for the next fetch.

* Binotel posts ``apiCallCompleted`` (``requestType`` and the call's ``callDetails``, as JSON or as PHP-style form
  fields ``callDetails[generalCallID]=…``) and retries until it gets exactly ``{"status": "success"}``. It signs
  nothing, so the URL given to Binotel carries a secret token (``BINOTEL_WEBHOOK_TOKEN``), compared in constant time.
* Zadarma posts ``NOTIFY_END`` / ``NOTIFY_OUT_END`` as form fields with a ``Signature`` header:
  ``base64(hex(HMAC-SHA1(api secret, caller_id + called_did + call_start)))`` for incoming calls and
  ``internal + destination + call_start`` for outgoing ones; it checks a new URL with ``GET ?zd_echo=X`` and
  expects ``X`` back.
A webhook sent twice queues the call once; a call already fetched is not queued again.
"""
from __future__ import annotations

import base64
import datetime as dt
import hashlib
import hmac
import os
import re
from typing import Any, Mapping, Optional

from pydantic import BaseModel, SecretStr

from compliance.sources.model import PbxCall
from compliance.text.catalogue import say

TOKEN_ENV = "BINOTEL_WEBHOOK_TOKEN"
ZADARMA_SECRET_ENV = "ZADARMA_API_SECRET"


class WebhookSecrets(BaseModel):
    """What the webhook route checks requests against; a provider without one refuses every request."""

    binotel_token: Optional[SecretStr] = None
    zadarma_secret: Optional[SecretStr] = None

    @classmethod
    def from_env(cls) -> "WebhookSecrets":
        token, secret = os.environ.get(TOKEN_ENV), os.environ.get(ZADARMA_SECRET_ENV)
        return cls(binotel_token=SecretStr(token) if token else None,
                   zadarma_secret=SecretStr(secret) if secret else None)


class Refused(Exception):
    """Not a request to act on: ``status`` is the HTTP answer, ``code`` a stable word a PBX's logs or a script can
    match on (it never changes with the language), the message says why in the run's language (never a secret)."""

    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.code = code


def nest_form(fields: Mapping[str, str]) -> dict[str, Any]:
    """``a[b][c]=v`` form fields as nested dicts, the way PHP reads them."""
    out: dict[str, Any] = {}
    for name, value in fields.items():
        keys = [name.split("[", 1)[0], *re.findall(r"\[([^\]]*)\]", name)]
        node = out
        for key in keys[:-1]:
            node = node.setdefault(key, {}) if isinstance(node.get(key, {}), dict) else {}
        node[keys[-1]] = value
    return out


def binotel_call(token: str, body: Mapping[str, Any], secrets: WebhookSecrets) -> Optional[PbxCall]:
    """The call of an ``apiCallCompleted`` request (None: another request type, answered and ignored).

    Raises:
        Refused: no token configured, a wrong token, a body without a call.
    """
    from compliance.sources.binotel import read_call

    if not secrets.binotel_token:
        raise Refused(404, "webhook_off", say("err.hook.binotel_off", env=TOKEN_ENV))
    if not hmac.compare_digest(token.encode(), secrets.binotel_token.get_secret_value().encode()):
        raise Refused(403, "wrong_token", say("err.hook.wrong_token"))
    if body.get("requestType") != "apiCallCompleted":
        return None
    call = read_call(body.get("callDetails"))
    if call is None:
        raise Refused(400, "no_call_details", say("err.hook.no_call_details"))
    return call


def zadarma_signature(fields: Mapping[str, str], secret: str) -> str:
    """The ``Signature`` Zadarma sends with a NOTIFY_END / NOTIFY_OUT_END."""
    if fields.get("event") == "NOTIFY_OUT_END":
        data = fields.get("internal", "") + fields.get("destination", "") + fields.get("call_start", "")
    else:
        data = fields.get("caller_id", "") + fields.get("called_did", "") + fields.get("call_start", "")
    digest = hmac.new(secret.encode(), data.encode(), hashlib.sha1).hexdigest()
    return base64.b64encode(digest.encode()).decode()


def zadarma_call(fields: Mapping[str, str], signature: str, secrets: WebhookSecrets) -> Optional[PbxCall]:
    """The call of a NOTIFY_END / NOTIFY_OUT_END (None: another event, answered and ignored).

    Raises:
        Refused: no secret configured, a missing or wrong signature, a call without id or time.
    """
    if not secrets.zadarma_secret:
        raise Refused(404, "webhook_off", say("err.hook.zadarma_off", env=ZADARMA_SECRET_ENV))
    expected = zadarma_signature(fields, secrets.zadarma_secret.get_secret_value())
    if not signature or not hmac.compare_digest(signature.encode(), expected.encode()):
        raise Refused(403, "wrong_signature", say("err.hook.wrong_signature"))
    event = fields.get("event")
    if event not in ("NOTIFY_END", "NOTIFY_OUT_END"):
        return None
    try:
        start = dt.datetime.strptime(fields.get("call_start", ""), "%Y-%m-%d %H:%M:%S")
    except ValueError:
        raise Refused(400, "bad_call_start", say("err.hook.bad_call_start")) from None
    if not fields.get("pbx_call_id"):
        raise Refused(400, "no_call_id", say("err.hook.no_call_id"))
    out = event == "NOTIFY_OUT_END"
    disposition = fields.get("disposition", "").lower()
    answered = disposition == "answered"
    seconds = fields.get("duration", "0")
    return PbxCall(provider="zadarma", call_id=fields["pbx_call_id"], direction="out" if out else "in",
                   client=fields.get("destination" if out else "caller_id", ""), start=start,
                   talk_seconds=int(seconds) if seconds.isdigit() else 0,
                   disposition="answered" if answered else "busy" if disposition == "busy"
                   else "no_answer" if disposition in ("no answer", "cancel") else "failed",
                   extension=fields.get("internal", ""), has_record=answered and fields.get("is_recorded") == "1",
                   record_ref=fields.get("call_id_with_rec", ""))
