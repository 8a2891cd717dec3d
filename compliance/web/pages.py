"""The routes: log in and out, the team, a manager's calls, a call with its review forms, disputes, calibration.

A manager reaches only their own calls: any other call, manager page or recording answers 404 (as if it did not
exist), never 403. Every POST carries the session's CSRF token. Database work and rendering run in worker threads.
"""
from __future__ import annotations

from pathlib import Path
from typing import Any, Awaitable, Callable, Optional

from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import FileResponse, RedirectResponse, Response
from starlette.routing import Route

from compliance.errors import ComplianceError
from compliance.history.rescore import rescore_history
from compliance.review.agreement import agreement_report
from compliance.review.ledger import (
    confirm_decision,
    confirm_flags,
    dispute,
    disputes,
    drop_decision,
    line_id_of,
    open_dispute,
    record_example,
    resolve_dispute,
    set_override,
    swap_parties,
)
from compliance.review.sessions import end_session, open_session, session_user
from compliance.review.users import User, verify
from compliance.scoring.result import CallRecord
from compliance.scoring.script_file import add_example
from compliance.text.catalogue import in_language, say

from .context import Review
from .guard import Throttled, check_csrf, csrf_token, session_id, start_session
from .views import call_view, dispute_rows, manager_view, team_view

Handler = Callable[[Request, Review, User, dict[str, str]], Response]

NOT_FOUND = HTTPException(404, "Not found")
MAX_ID = 2 ** 63 - 1


def _review(request: Request) -> Review:
    return request.app.state.review


def _current_user(request: Request, review: Review) -> Optional[User]:
    sid = session_id(request)
    found = session_user(review.store(), sid) if sid else None
    if sid and found is None:  # logged out, expired, password reset or account removed: the session is over
        request.session.clear()
    return found


def _page(review: Review, request: Request, name: str, me: Optional[User], code: int = 200,
          **context: Any) -> Response:
    return review.render(name, code, user=me, csrf=csrf_token(request), **context)


def protected(lead_only: bool = False) -> Callable[[Handler], Callable[[Request], Awaitable[Response]]]:
    """A route for logged-in users (lead-only ones answer 404 to a manager); POSTs need the CSRF token."""

    def wrap(handler: Handler) -> Callable[[Request], Awaitable[Response]]:
        async def endpoint(request: Request) -> Response:
            form = await check_csrf(request) if request.method == "POST" else {}
            review = _review(request)
            me = await run_in_threadpool(_current_user, request, review)
            if me is None:
                if request.method == "POST":
                    raise HTTPException(403, "Log in again")
                return RedirectResponse("/login", status_code=303)
            if lead_only and not me.is_lead:
                raise NOT_FOUND
            try:
                return await run_in_threadpool(handler, request, review, me, form)
            except ComplianceError as exc:
                return _page(review, request, "web_error.html.j2", me, 400, status=400,
                             detail=str(in_language(exc, str(review.env.globals["lang"]))))

        return endpoint

    return wrap


def _own_call(review: Review, me: User, call_id: str) -> CallRecord:
    """The call, when this user may see it; 404 otherwise (another manager's call looks like no call)."""
    record = review.store().call(call_id)
    if record is None or (not me.is_lead and record.manager != me.manager):
        raise NOT_FOUND
    return record


# -- login -----------------------------------------------------------------------------------------------------
async def login_form(request: Request) -> Response:
    review = _review(request)
    return _page(review, request, "web_login.html.j2", None, error="", login="")


async def login(request: Request) -> Response:
    form = await check_csrf(request)
    review = _review(request)
    name, password = form.get("login", "").strip().lower()[:64], form.get("password", "")[:1024]
    address = request.client.host if request.client else ""
    try:
        await review.throttle.acquire(name, address)  # counted before the check: parallel tries queue up
    except Throttled as exc:
        page = _page(review, request, "web_login.html.j2", None, 429, error="throttled", login=name,
                     retry_after=exc.retry_after)
        page.headers["retry-after"] = str(exc.retry_after)
        return page
    found = None
    try:
        found = await run_in_threadpool(lambda: verify(review.store(), name, password))
    finally:
        review.throttle.release(name, address, ok=found is not None)
    if found is None:
        return _page(review, request, "web_login.html.j2", None, 401, error="failed", login=name)
    # the worker thread's own connection: the event loop's one would be shared by parallel logins mid-transaction
    sid = await run_in_threadpool(lambda: open_session(review.store(), found.login, review.max_age))
    start_session(request, sid)
    return RedirectResponse("/", status_code=303)


async def logout(request: Request) -> Response:
    await check_csrf(request)
    sid = session_id(request)
    if sid:
        review = _review(request)
        await run_in_threadpool(lambda: end_session(review.store(), sid))
    request.session.clear()
    return RedirectResponse("/login", status_code=303)


# -- pages -----------------------------------------------------------------------------------------------------
@protected()
def home(request: Request, review: Review, me: User, form: dict[str, str]) -> Response:
    if not me.is_lead:
        return RedirectResponse(f"/managers/{me.manager}", status_code=303)
    return _page(review, request, "web_team.html.j2", me, team=team_view(review.store()))


@protected()
def manager_page(request: Request, review: Review, me: User, form: dict[str, str]) -> Response:
    key = request.path_params["key"]
    if not me.is_lead and key != me.manager:
        raise NOT_FOUND
    raw = request.query_params.get("page", "1")
    view = manager_view(review.store(), key, int(raw) if raw.isascii() and raw.isdigit() and len(raw) < 7 else 1)
    if view is None:
        if me.is_lead:
            raise NOT_FOUND
        return _page(review, request, "web_manager.html.j2", me, view=None)
    return _page(review, request, "web_manager.html.j2", me, view=view)


@protected()
def call_page(request: Request, review: Review, me: User, form: dict[str, str]) -> Response:
    record = _own_call(review, me, request.path_params["call_id"])
    view = call_view(review.store(), record, review.script(record.result.script_id))
    return _page(review, request, "web_call.html.j2", me, page=view.page, view=view,
                 examples=record.result.script_id in review.script_files)


@protected()
def recording(request: Request, review: Review, me: User, form: dict[str, str]) -> Response:
    record = _own_call(review, me, request.path_params["call_id"])
    if not record.audio or not Path(record.audio).is_file():
        raise NOT_FOUND
    return FileResponse(record.audio)  # answers Range requests: the player seeks without loading it all


MAX_LINE = 10_000   # no script has this many lines in a stage


def _line(value: str) -> Optional[int]:
    if not value:
        return None
    # isdigit() alone accepts «²» and other digits int() refuses; a huge number is no line either
    if not (value.isascii() and value.isdigit()) or len(value) > 6 or int(value) > MAX_LINE:
        raise HTTPException(400, say("web.refused.line"))
    return int(value)


@protected(lead_only=True)
def override(request: Request, review: Review, me: User, form: dict[str, str]) -> Response:
    record = _own_call(review, me, request.path_params["call_id"])
    stage_id = form.get("stage_id", "")
    if form.get("present") not in ("1", "0"):
        raise HTTPException(400, say("web.refused.present"))
    set_override(review.store(), record.call_id, stage_id, form["present"] == "1", by=me.login,
                 note=form.get("note", "").strip()[:2000], line=_line(form.get("line", "")))
    return RedirectResponse(f"/calls/{record.call_id}#st-{stage_id}", status_code=303)


@protected(lead_only=True)
def swap(request: Request, review: Review, me: User, form: dict[str, str]) -> Response:
    """The parties of a one-channel call the other way round: stored as a decision, the call scored again."""
    record = _own_call(review, me, request.path_params["call_id"])
    swap_parties(review.store(), record.call_id, by=me.login)
    rescore_history(review.store(), call_id=record.call_id, keep_bands=True)
    return RedirectResponse(f"/calls/{record.call_id}", status_code=303)


@protected(lead_only=True)
def confirm(request: Request, review: Review, me: User, form: dict[str, str]) -> Response:
    """The lead checked a flagged call: it counts toward readiness."""
    record = _own_call(review, me, request.path_params["call_id"])
    confirm_flags(review.store(), record.call_id, by=me.login)
    return RedirectResponse(f"/calls/{record.call_id}", status_code=303)


@protected(lead_only=True)
def use_as_example(request: Request, review: Review, me: User, form: dict[str, str]) -> Response:
    """The manager's sentence of a line the lead heard (overridden to present) joins the line's team examples."""
    record = _own_call(review, me, request.path_params["call_id"])
    stage_id, line = form.get("stage_id", ""), _line(form.get("line", ""))
    stage = next((s for s in record.result.stages if s.id == stage_id), None)
    if stage is None or line is None or line >= len(stage.lines):
        raise HTTPException(400, say("web.refused.no_line"))
    override = stage.lines[line].override
    script_file = review.script_files.get(record.result.script_id)
    if override is None or not override.present or script_file is None:
        raise HTTPException(400, say("web.refused.example"))
    sentence = form.get("sentence", "").strip()[:500]
    line_id = line_id_of(review.store(), record, stage_id, line)[0]
    written = add_example(script_file, stage_id, line_id, sentence)
    record_example(review.store(), record.call_id, stage_id, line, by=me.login, sentence=sentence, file=str(written),
                   line_id=line_id)
    return RedirectResponse(f"/calls/{record.call_id}#st-{stage_id}", status_code=303)


@protected(lead_only=True)
def settle_decision(request: Request, review: Review, me: User, form: dict[str, str]) -> Response:
    """The lead confirms a decision flagged after its call changed, or drops it (stale or orphaned)."""
    record = _own_call(review, me, request.path_params["call_id"])
    stage_id, line_id = form.get("stage_id", ""), form.get("line_id", "") or None
    if form.get("action") not in ("confirm", "drop"):
        raise HTTPException(400, say("web.refused.action"))
    line = _line(form.get("line", ""))
    if line is not None and line_id is None:  # a line of the page: its id in the call's script version
        line_id = line_id_of(review.store(), record, stage_id, line)[0]
    settle = confirm_decision if form["action"] == "confirm" else drop_decision
    settle(review.store(), record.call_id, stage_id, line_id, by=me.login, note=form.get("note", "").strip()[:2000])
    return RedirectResponse(f"/calls/{record.call_id}#st-{stage_id}", status_code=303)


@protected()
def dispute_stage(request: Request, review: Review, me: User, form: dict[str, str]) -> Response:
    record = _own_call(review, me, request.path_params["call_id"])
    if me.is_lead:  # the lead overrides; disputes are the managers' voice
        raise NOT_FOUND
    stage_id = form.get("stage_id", "")
    open_dispute(review.store(), record.call_id, stage_id, by=me.login, comment=form.get("comment", "").strip()[:2000],
                 line=_line(form.get("line", "")))
    return RedirectResponse(f"/calls/{record.call_id}#st-{stage_id}", status_code=303)


@protected()
def disputes_page(request: Request, review: Review, me: User, form: dict[str, str]) -> Response:
    found = disputes(review.store(), manager=None if me.is_lead else me.manager)
    return _page(review, request, "web_disputes.html.j2", me, disputes=dispute_rows(review.store(), found))


@protected(lead_only=True)
def resolve(request: Request, review: Review, me: User, form: dict[str, str]) -> Response:
    raw = request.path_params["dispute_id"]
    if raw > MAX_ID:  # SQLite integers are 64-bit: a larger id is no dispute (and would overflow the query)
        raise NOT_FOUND
    found = dispute(review.store(), raw)
    if form.get("decision") not in ("accept", "reject"):
        raise HTTPException(400, say("web.refused.decision"))
    resolve_dispute(review.store(), found.id, by=me.login, accept=form["decision"] == "accept",
                    note=form.get("note", "").strip()[:2000])
    back = form.get("back", "")
    # Back to the page the form was on, when it is one of ours (never an address from outside).
    allowed = {"/", "/disputes", f"/calls/{found.call_id}", f"/managers/{found.manager}"}
    return RedirectResponse(back if back in allowed else "/disputes", status_code=303)


@protected(lead_only=True)
def agreement_page(request: Request, review: Review, me: User, form: dict[str, str]) -> Response:
    return _page(review, request, "web_agreement.html.j2", me, report=agreement_report(review.store()))


async def no_icon(request: Request) -> Response:
    return Response(status_code=204)  # browsers ask for one; there is none (and no 404 in their console)


def routes() -> list[Route]:
    return [
        Route("/favicon.ico", no_icon, methods=["GET"]),
        Route("/login", login_form, methods=["GET"]),
        Route("/login", login, methods=["POST"]),
        Route("/logout", logout, methods=["POST"]),
        Route("/", home, methods=["GET"]),
        Route("/managers/{key}", manager_page, methods=["GET"]),
        Route("/calls/{call_id}", call_page, methods=["GET"]),
        Route("/calls/{call_id}/audio", recording, methods=["GET"]),
        Route("/calls/{call_id}/override", override, methods=["POST"]),
        Route("/calls/{call_id}/dispute", dispute_stage, methods=["POST"]),
        Route("/calls/{call_id}/example", use_as_example, methods=["POST"]),
        Route("/calls/{call_id}/decision", settle_decision, methods=["POST"]),
        Route("/calls/{call_id}/swap", swap, methods=["POST"]),
        Route("/calls/{call_id}/confirm", confirm, methods=["POST"]),
        Route("/disputes", disputes_page, methods=["GET"]),
        Route("/disputes/{dispute_id:int}/resolve", resolve, methods=["POST"]),
        Route("/agreement", agreement_page, methods=["GET"]),
    ]
