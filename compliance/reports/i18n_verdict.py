"""The verdict's strings on report and review pages (branches, forbidden severity, what readiness counts, deal
outcomes beside it), ru and en.

Kept apart from ``i18n.CATALOGUE`` for size only: ``i18n`` merges them, so templates and the completeness test see
one catalogue. The notes that explain a verdict are messages (``compliance.messages``): the JSON carries them too.
"""
from __future__ import annotations

VERDICT_CATALOGUE: dict[str, dict[str, str]] = {
    "ru": {
        "call.verdict_why": "Что ещё решило вердикт",
        "forbidden.severity": "Важность",
        "forbidden.severity.critical": "критическая: звонок ниже коридора",
        "forbidden.severity.minor": "мелкая: минус баллы",
        "stage.excused_by": "не оценивается: ветка „{branch}“",
        "stage.branch.taken": "ветка пройдена",
        "stage.branch.not_taken": "ветка не засчитана",
        "ready.more_reasons": "и ещё причин: {n}",
        "ready.conversion": "Сделки по звонкам (Pipedrive): выиграно {won} из {closed} закрытых — {rate} "
                            "(95 % интервал: {low}–{high})",
        "ready.team_conversion": "у команды {rate} ({low}–{high})",
        "ready.few_deals": "мало сделок для вывода, решайте по разговорам",
        "review.branch.taken": "ветка пройдена (этапы ветки не оцениваются)",
        "review.branch.not_taken": "ветка не пройдена (этапы оцениваются)",
    },
    "en": {
        "call.verdict_why": "What else decided the verdict",
        "forbidden.severity": "Severity",
        "forbidden.severity.critical": "critical: the call is below the band",
        "forbidden.severity.minor": "minor: points off",
        "stage.excused_by": "not scored: branch „{branch}“",
        "stage.branch.taken": "branch taken",
        "stage.branch.not_taken": "branch not counted",
        "ready.more_reasons": "more reasons: {n}",
        "ready.conversion": "Deals of these calls (Pipedrive): {won} won of {closed} closed — {rate} "
                            "(95% interval: {low}–{high})",
        "ready.team_conversion": "the team's {rate} ({low}–{high})",
        "ready.few_deals": "too few deals to conclude; judge by the calls",
        "review.branch.taken": "branch taken (its stages are not scored)",
        "review.branch.not_taken": "branch not taken (its stages are scored)",
    },
}
