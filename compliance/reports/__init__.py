"""HTML reports: plain view data first (``build_*_page``), then Jinja rendering, then one atomic write.

Layout of a report set::

    index.html                          team overview, for the lead
    managers/<slug>/index.html          one manager's page
    managers/<slug>/calls/<call>.html   that manager's call pages

A manager's folder links only inside itself, so it can be handed to that manager alone. Every page is
self-contained (inline CSS, SVG and a little optional JS) and readable without JS.

Modules: ``views`` (page models), ``evidence`` (where a line was said, word diffs), ``call_page``,
``aggregate`` (manager and team pages), ``charts``, ``render`` (Jinja), ``write`` (files, atomic swap).
"""
from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

# Each public name and its module, imported when first asked for: `compliance report --help` reads the languages
# from ``i18n`` without loading Jinja and every page builder.
_HOMES = {
    "build_manager_page": "aggregate", "build_team_page": "aggregate", "build_call_page": "call_page",
    "build_daily_chart": "charts", "build_sparkline": "charts", "build_trend_chart": "charts",
    "diff_words": "evidence", "make_environment": "render", "render_call_page": "render",
    "render_manager_page": "render", "render_team_page": "render", "CallPage": "views", "ManagerPage": "views",
    "TeamPage": "views", "bundled_scripts": "write", "write_reports": "write", "write_reports_from_store": "write",
}

__all__ = [
    "CallPage", "ManagerPage", "TeamPage", "build_call_page", "build_daily_chart", "build_manager_page",
    "build_sparkline", "build_team_page", "build_trend_chart", "bundled_scripts", "diff_words",
    "make_environment", "render_call_page", "render_manager_page", "render_team_page", "write_reports",
    "write_reports_from_store",
]

if TYPE_CHECKING:
    from .aggregate import build_manager_page, build_team_page
    from .call_page import build_call_page
    from .charts import build_daily_chart, build_sparkline, build_trend_chart
    from .evidence import diff_words
    from .render import make_environment, render_call_page, render_manager_page, render_team_page
    from .views import CallPage, ManagerPage, TeamPage
    from .write import bundled_scripts, write_reports, write_reports_from_store


def __getattr__(name: str) -> Any:
    module = _HOMES.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(importlib.import_module(f"{__name__}.{module}"), name)
