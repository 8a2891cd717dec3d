"""Jinja rendering: the environment (packaged templates, a user's --template-dir first) and one function per page."""
from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any, Optional

import jinja2

from compliance import __version__
from compliance.errors import ReportError
from compliance.history.daily import DAILY_TARGET
from compliance.messages import render as render_message
from compliance.reports.i18n import LANGUAGES, Translator
from compliance.resources import resource_dir
from compliance.scoring.band import band_why_key
from compliance.text.catalogue import say
from compliance.text.formats import message_time

from .views import CallPage, ManagerPage, MonthPage, TeamPage


def make_environment(lang: str = "ru", template_dir: str | Path | None = None, *,
                     generated_at: Optional[str] = None, version: str = __version__) -> jinja2.Environment:
    """A Jinja environment over the packaged templates, with ``template_dir`` (if given) taking precedence.

    Autoescaping is always on: transcripts and names are untrusted text.

    Raises:
        ReportError: unknown language, or ``template_dir`` is not a folder.
    """
    if lang not in LANGUAGES:
        raise ReportError(say("err.reports.language", lang=repr(lang), known=", ".join(LANGUAGES)))
    loaders: list[jinja2.BaseLoader] = []
    if template_dir is not None:
        if not Path(template_dir).is_dir():
            raise ReportError(say("err.reports.template_dir", folder=template_dir))
        loaders.append(jinja2.FileSystemLoader(str(template_dir)))
    loaders.append(jinja2.FileSystemLoader(str(resource_dir("reports_templates"))))
    env = jinja2.Environment(loader=jinja2.ChoiceLoader(loaders), autoescape=True, trim_blocks=True,
                             lstrip_blocks=True, undefined=jinja2.StrictUndefined)
    tr = Translator(lang)
    env.globals.update(
        _=tr, tr=tr, lang=lang, band_why=band_why_key, version=version, daily_target=DAILY_TARGET,
        generated_at=generated_at or dt.datetime.now().strftime("%Y-%m-%d %H:%M"),
    )
    env.filters.update(
        pct=tr.percent, num=tr.number, clock=tr.clock, dur=tr.duration, date_long=tr.date_long,
        date_short=tr.date_short, plural=tr.plural, signed=tr.signed, script_text=tr.script_text,
        msg=lambda message: render_message(message, lang),
        at=lambda seconds, started: message_time(started, seconds) if seconds is not None else "",
        # a stored moment (ISO) as people write it: «27.11.2026 10:15» / «27 Nov 2026 10:15»
        stamp=lambda value: f"{tr.date_short(value[:10])} {value[11:16]}".strip() if value else "",
    )
    return env


def _render(env: jinja2.Environment, name: str, **context: Any) -> str:
    try:
        return env.get_template(name).render(**context)
    except jinja2.TemplateError as exc:
        where = f"{exc.filename}:{exc.lineno}: " if getattr(exc, "lineno", None) else ""  # type: ignore[attr-defined]
        raise ReportError(say("err.reports.template", name=name, where=where, why=exc)) from exc


def render_call_page(page: CallPage, env: jinja2.Environment) -> str:
    """The HTML of one call's page."""
    return _render(env, "call.html.j2", page=page)


def render_manager_page(page: ManagerPage, env: jinja2.Environment) -> str:
    """The HTML of one manager's page."""
    return _render(env, "manager.html.j2", page=page)


def render_team_page(page: TeamPage, env: jinja2.Environment) -> str:
    """The HTML of the team overview."""
    return _render(env, "team.html.j2", page=page)


def render_month_page(page: MonthPage, env: jinja2.Environment) -> str:
    """The HTML of one manager's calls of one month (a long report's manager page links them)."""
    return _render(env, "month.html.j2", page=page)
