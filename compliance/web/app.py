"""The app factory: the history, the report templates, sessions, middleware, and the routes of ``pages``."""
from __future__ import annotations

import sqlite3
from pathlib import Path
from typing import Any, Callable, Optional, Sequence, cast
from urllib.parse import quote

from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.middleware.sessions import SessionMiddleware
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.types import ASGIApp, Receive, Scope, Send

from compliance.errors import StoreError
from compliance.history.store import Store
from compliance.reports.render import make_environment
from compliance.review.sessions import session_secret
from compliance.scoring.script_file import load_script
from compliance.text.catalogue import in_language
from compliance.text.formats import load_babel
from compliance.text.third_party import sqlite_reason

from .context import Review
from .guard import LoginThrottle
from .pages import routes
from .pbx_hook import pbx_routes

SESSION_COOKIE = "compliance_session"
SESSION_MAX_AGE = 12 * 3600        # a working day; then log in again



class _SecurityHeaders:
    """Headers every page gets: no framing, no MIME sniffing, no referrer to other sites."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        async def send_with_headers(message: Any) -> None:
            if message["type"] == "http.response.start":
                message.setdefault("headers", [])
                message["headers"] += [(b"x-frame-options", b"DENY"), (b"x-content-type-options", b"nosniff"),
                                       (b"referrer-policy", b"same-origin"), (b"cache-control", b"no-store")]
            await send(message)

        await self.app(scope, receive, send_with_headers if scope["type"] == "http" else send)


class _Slashes:
    """``/disputes/`` → ``/disputes``, by a relative redirect: an absolute one built from the request's Host
    header would send the browser wherever that header says."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        path = scope.get("path", "")
        if scope["type"] != "http" or path == "/" or not path.endswith("/"):
            await self.app(scope, receive, send)
            return
        target = "/" + quote(path.strip("/").replace("\\", "/").lstrip("/"))  # never "//host": no other site
        query = scope.get("query_string", b"").decode("latin-1")
        await RedirectResponse(target + (f"?{query}" if query else ""), status_code=307)(scope, receive, send)


def create_app(db_path: str | Path, secret: Optional[str] = None, *, lang: str = "ru",
               session_max_age: int = SESSION_MAX_AGE, login_delay: float = 0.5,
               scripts: Sequence[str | Path] = ()) -> Starlette:
    """The review web app over a history database.

    Args:
        db_path: the history (created and upgraded when needed).
        secret: the cookie signing key; default: ``$COMPLIANCE_SESSION_SECRET`` or the 0600 file beside the
            database (made on first start), never the database itself.
        lang: the pages' language.
        session_max_age: seconds a login lasts.
        login_delay: the first wait after repeated failed logins (doubling with each further failure; see
            ``LoginThrottle``).
        scripts: script files whose team examples file the lead may extend ("use as example").

    Raises:
        StoreError: the database cannot be used.
        ScriptError: a script file is invalid.
    """
    load_babel()  # before the server's threads: their first imports of it at once can fail
    path = Path(db_path)
    with Store(path):  # created or upgraded before the first request
        pass
    key = secret or session_secret(path)
    files = {load_script(p).id: Path(p) for p in scripts}
    review = Review(path, make_environment(lang), LoginThrottle(login_delay), session_max_age, files)
    middleware = [
        Middleware(_SecurityHeaders),
        Middleware(_Slashes),
        Middleware(SessionMiddleware, secret_key=key, session_cookie=SESSION_COOKIE, max_age=session_max_age,
                   same_site="lax", https_only=False),
    ]

    async def http_error(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, HTTPException)
        # The pages anyone meets (a wrong address, an expired session or form) speak the app's language.
        said = {404: "web.not_found", 403: "web.forbidden"}.get(exc.status_code)
        detail = cast(Callable[[str], str], review.env.globals["_"])(said) if said \
            else str(in_language(exc.detail, str(review.env.globals["lang"])))
        return review.render("web_error.html.j2", exc.status_code, status=exc.status_code, detail=detail,
                             user=None, csrf="")

    async def store_error(request: Request, exc: Exception) -> Response:
        # A locked database (another program held it past the busy timeout) or a full disk: the transaction was
        # rolled back, so nothing is half-written; the page says what happened instead of a bare 500.
        text = str(exc).lower()
        key, code = ("web.disk_full", 507) if "full" in text or "no space" in text else ("web.busy", 503)
        translate = cast(Callable[[str], str], review.env.globals["_"])
        detail = translate(key)
        if code == 503 and not isinstance(exc, StoreError) and "locked" not in text and "busy" not in text:
            # Not a lock (a disk I/O error, a damaged file): SQLite's words said in the app's language instead.
            detail = translate("web.store_trouble").format(
                why=in_language(sqlite_reason(exc), str(review.env.globals["lang"])))
        page = review.render("web_error.html.j2", code, status=code, detail=detail, user=None, csrf="")
        if code == 503:
            page.headers["retry-after"] = "60"
        return page

    handlers = {HTTPException: http_error, sqlite3.OperationalError: store_error, StoreError: store_error}
    app = Starlette(routes=routes() + pbx_routes(), middleware=middleware, exception_handlers=handlers)  # type: ignore[arg-type]
    app.router.redirect_slashes = False  # its redirect is built from the Host header; ours (_Slashes) is relative
    app.state.review = review
    return app
