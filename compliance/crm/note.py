"""The CRM note of one analysed call: HTML as Pipedrive notes take it (``p``, ``b``, ``ul``/``li``).

Score, verdict, structure and wording, the required stages missed, and the extractive summary, in the reports'
language. Every piece of text from a call, a script or a roster is escaped. The content depends only on the
stored result (no time of writing), so its hash says whether Pipedrive already has this very note.
"""
from __future__ import annotations

import hashlib
from html import escape
from pathlib import PurePath
from typing import Optional

from compliance.messages import render
from compliance.reports.i18n import Translator
from compliance.scoring.band import band_why_key
from compliance.scoring.result import CallRecord, CallResult

from .summary import SummaryLine, SummaryMap, summarise

_QUOTES = {"ru": ("«", "»"), "en": ("“", "”")}


def render_note(record: CallRecord, lang: str = "ru", mapping: SummaryMap | None = None) -> str:
    """The note's HTML for a stored call (``record.result`` is the result to show: the stored one, or an
    override's correction once one exists)."""
    _ = Translator(lang)
    result = record.result
    parts = [_p(_b(_("crm.heading.chat" if result.channel == "chat" else "crm.heading.call")) + " — "
                + escape(_heading(record, _)))]
    if not result.connected:
        reason = render(result.not_connected, lang) or (result.not_connected_reason or "")
        parts.append(_p(_b(_("call.not_connected")) + (f". {escape(_('call.reason'))}: {escape(reason)}" if reason else "")))
    else:
        parts.extend(_score(result, _))
        segments = record.transcript.segments if record.transcript else []
        parts.append(_summary(summarise(result, segments, mapping), _, lang))
    parts.append(_p("<i>" + escape(_("crm.footer", file=PurePath(record.file).name)) + "</i>"))
    return "".join(parts)


def note_marker(call_id: str) -> str:
    """What a note carries so it can be found again on its deal when Pipedrive's answer to its POST was lost."""
    return "cc-" + hashlib.sha256(call_id.encode("utf-8")).hexdigest()[:16]


def mark_note(content: str, marker: str, lang: str = "ru") -> str:
    """The note with its marker at the end of the footer (the hash stays that of the unmarked note, so notes
    written before markers existed are not all rewritten)."""
    tail = "</i></p>"
    text = " · " + escape(Translator(lang)("crm.ref", ref=marker))
    return content[:-len(tail)] + text + tail if content.endswith(tail) else content + _p("<i>" + text + "</i>")


def content_hash(content: str) -> str:
    """What the push ledger compares: the same hash means Pipedrive already shows this content."""
    return hashlib.sha256(content.encode("utf-8")).hexdigest()[:20]


def _heading(record: CallRecord, _: Translator) -> str:
    when = " ".join(x for x in (_.date_short(record.date), (record.time or "")[:5]) if x)
    who = record.manager_name or record.manager
    left, right = _QUOTES.get(_.lang, _QUOTES["ru"])
    script = f"{_('call.script')} {left}{record.result.script_title or record.result.script_id}{right}"
    return ", ".join(x for x in (when, who, script) if x)


def _score(result: CallResult, _: Translator) -> list[str]:
    level = _(f"level.of.{result.level}") if f"level.of.{result.level}" in _.strings else result.level
    band = f"{_.number(result.band[0])}–{_.percent(result.band[1])}"
    verdict = _(f"verdict.short.{result.verdict}") if result.verdict else ""
    wording = f"{_('crm.wording')} {_.percent(result.adherence, 1)}" + (f" — {verdict}" if verdict else "")
    line = (f"{_b(_('crm.score'))}: {escape(wording)} ({escape(_('crm.band', level=level, band=band))}); "
            f"{escape(_('crm.structure'))} {escape(_.percent(result.structure))}")
    extra = []
    if result.forbidden:
        extra.append(f"{_('call.forbidden_n')}: {len(result.forbidden)}")
    if not result.order_ok:
        extra.append(_("call.order_bad"))
    if extra:
        line += "; " + escape("; ".join(extra))
    why = band_why_key(result.channel, result.level)
    score = [_p(line)] + ([_p("<i>" + escape(_(why)) + "</i>")] if why else [])
    missed = result.missing_required
    if missed:
        names = "; ".join(s.title or s.id for s in missed)
        return [*score, _p(f"{_b(_('call.missed'))}: {escape(names)}")]
    return [*score, _p(escape(_("crm.missed_none")[:1].upper() + _("crm.missed_none")[1:]))]


def _summary(lines: list[SummaryLine], _: Translator, lang: str) -> str:
    head = _p(_b(_("crm.summary")))
    if not lines:
        return head + _p("<i>" + escape(_("crm.summary_none")) + "</i>")
    items = []
    for line in lines:
        label = line.label.get(lang) or line.label.get("ru") or line.key
        both = len({q.speaker for q in line.quotes}) > 1
        said = " — ".join((escape(_(f"speaker.{q.speaker}")) + ": " if both else "") + _quoted(q.text, lang)
                          for q in line.quotes)
        items.append(f"<li>{_b(label)}: {said}</li>")
    return head + "<ul>" + "".join(items) + "</ul>"


def _quoted(text: str, lang: str) -> str:
    left, right = _QUOTES.get(lang, _QUOTES["ru"])
    return left + escape(text) + right


def _p(inner: str) -> str:
    return f"<p>{inner}</p>"


def _b(text: Optional[str]) -> str:
    return f"<b>{escape(text or '')}</b>"
