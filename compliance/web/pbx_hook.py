"""The PBX webhook routes of ``serve``: a call-completed notice from Binotel or Zadarma, checked (a secret token
or the vendor's signature; anything else refused) and queued in the history for the next ``compliance fetch``.
No session, no login: the PBX is not a user; nothing here reads or shows any call."""
from __future__ import annotations

import json
import logging
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response
from starlette.routing import Route

from compliance.sources.webhooks import Refused, WebhookSecrets, binotel_call, nest_form, zadarma_call
from compliance.text.catalogue import in_language, say, text

MAX_BODY = 64 << 10            # a call notice is a few hundred bytes
_log = logging.getLogger("compliance.web.pbx")


def pbx_routes(secrets: WebhookSecrets | None = None) -> list[Route]:
    """``POST /pbx/binotel/{token}`` and ``GET|POST /pbx/zadarma``; secrets from the environment by default."""
    secrets = secrets or WebhookSecrets.from_env()

    async def binotel(request: Request) -> Response:
        try:
            body = await _body(request)
            call = binotel_call(request.path_params["token"], body, secrets)
        except Refused as exc:
            return _refused(request, exc)
        if call is not None:
            _queue(request, call)
        return JSONResponse({"status": "success"})  # exactly this, or Binotel sends it again

    async def zadarma(request: Request) -> Response:
        if request.method == "GET":
            echo = request.query_params.get("zd_echo")
            if echo is None or not secrets.zadarma_secret:
                return PlainTextResponse(text("err.hook.no_echo", _lang(request)), status_code=404)
            return PlainTextResponse(echo[:100])  # Zadarma checks the URL by this echo
        try:
            fields = {k: str(v) for k, v in (await _form(request)).items()}
            call = zadarma_call(fields, request.headers.get("signature", ""), secrets)
        except Refused as exc:
            return _refused(request, exc)
        queued = _queue(request, call) if call is not None else False
        return JSONResponse({"status": "success", "queued": queued})

    return [Route("/pbx/binotel/{token}", binotel, methods=["POST"]),
            Route("/pbx/zadarma", zadarma, methods=["GET", "POST"])]


def _queue(request: Request, call: Any) -> bool:
    store = request.app.state.review.store()
    queued = store.queue_pbx_call(call.provider, call.call_id, call.model_dump(mode="json"))
    _log.info("%s", text("hook.log.queued" if queued else "hook.log.known", _lang(request), provider=call.provider,
                         call=call.call_id))
    return queued


def _lang(request: Request) -> str:
    """The app's language (``serve --lang``)."""
    return str(request.app.state.review.env.globals["lang"])


def _refused(request: Request, exc: Refused) -> Response:
    # A person reads the answer in the PBX's logs: the app's language; ``status`` and ``code`` stay as they are.
    lang = _lang(request)
    message = str(in_language(exc.args[0], lang))
    _log.warning("%s: %s", text("hook.log.refused", lang), message)
    return JSONResponse({"status": "error", "code": exc.code, "message": message}, status_code=exc.status)


async def _raw(request: Request) -> bytes:
    raw = b""
    async for chunk in request.stream():
        raw += chunk
        if len(raw) > MAX_BODY:
            raise Refused(413, "too_large", say("err.hook.too_large", kb=MAX_BODY >> 10))
    return raw


async def _form(request: Request) -> dict[str, Any]:
    from urllib.parse import parse_qsl

    raw = await _raw(request)
    try:
        return dict(parse_qsl(raw.decode("utf-8"), keep_blank_values=True))
    except UnicodeDecodeError:
        raise Refused(400, "not_utf8", say("err.hook.not_utf8")) from None


async def _body(request: Request) -> dict[str, Any]:
    """JSON or PHP-style form fields, as Binotel may send either."""
    if "json" in request.headers.get("content-type", ""):
        try:
            body = json.loads(await _raw(request))
        except ValueError:
            raise Refused(400, "not_json", say("err.hook.not_json")) from None
        if not isinstance(body, dict):
            raise Refused(400, "not_json_object", say("err.hook.not_json_object"))
        return body
    return nest_form(await _form(request))
