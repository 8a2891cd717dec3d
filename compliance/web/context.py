"""What every request of the review app needs (``Review``): the history connection of its worker thread, the
templates, the script versions. The app factory (``app.py``) makes one; the pages (``pages.py``) use it."""
from __future__ import annotations

import threading
from pathlib import Path
from typing import Any, Optional

import jinja2
from starlette.responses import HTMLResponse

from compliance.history.store import Store
from compliance.scoring.script import SalesScript

from .guard import LoginThrottle


class Review:
    """What every request needs: one history connection per worker thread, the templates, the script versions."""

    def __init__(self, db_path: Path, env: jinja2.Environment, throttle: LoginThrottle, max_age: int,
                 script_files: dict[str, Path]) -> None:
        self.db_path, self.env, self.throttle, self.max_age = db_path, env, throttle, max_age
        self.script_files = script_files   # script id → its YAML file, whose team examples the lead extends
        self._local = threading.local()
        self._scripts: dict[str, SalesScript] = {}
        self._lock = threading.Lock()

    def store(self) -> Store:
        """This thread's connection (SQLite connections are not shared between threads mid-transaction)."""
        store = getattr(self._local, "store", None)
        if store is None:
            store = self._local.store = Store(self.db_path)
        return store

    def script(self, script_id: str) -> Optional[SalesScript]:
        """The newest stored version of a script, for stage titles and order (parsed once per version)."""
        raw = self.store().latest_scripts().get(script_id)
        if raw is None:
            return None
        with self._lock:
            if raw not in self._scripts:
                self._scripts[raw] = SalesScript.model_validate_json(raw)
            return self._scripts[raw]

    def render(self, name: str, status_code: int = 200, **context: Any) -> HTMLResponse:
        return HTMLResponse(self.env.get_template(name).render(**context), status_code=status_code)
