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
        "verdict.long.chat.within": "В коридоре: переписка идёт по скрипту так, как нужно",
        "verdict.long.chat.below": "Ниже коридора: переписка слишком далека от скрипта",
        "web.chat": "переписка",
        # why a band is what it is, in one sentence, wherever a band is shown
        "band.why.call.newcomer": "Новичок говорит по скрипту почти дословно: в звонке клиент слышит каждую фразу, "
                                  "поэтому коридор высокий, а выше коридора — тоже хорошо.",
        "band.why.chat.newcomer": "В переписке клиент пишет коротко, а часть фраз скрипта заменяют прайс, фото или "
                                  "ссылка, поэтому нижняя граница коридора для чатов ниже, чем для звонков.",
        "band.why.call.experienced": "Опытный менеджер работает по общей структуре: своими словами, без шаблонных "
                                     "фраз, но каждый этап должен прозвучать — поэтому коридор ниже, чем у новичка.",
        "band.why.chat.experienced": "Опытный менеджер пишет своими словами по общей структуре, без шаблонных фраз, "
                                     "но с каждым этапом — поэтому коридор ниже, чем у новичка.",
        "band.why.team": "Коридор — сколько скрипта должно прозвучать: новичок говорит по скрипту почти дословно, "
                         "в переписке нижняя граница ниже, чем в звонке, опытный работает своими словами по общей "
                         "структуре; коридоры задаёт team.yaml.",
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
        "verdict.long.chat.within": "Within the band: the chat follows the script as expected",
        "verdict.long.chat.below": "Below the band: the chat strays too far from the script",
        "web.chat": "chat",
        # why a band is what it is, in one sentence, wherever a band is shown
        "band.why.call.newcomer": "A newcomer follows the script almost word for word: on a call the client hears "
                                  "every phrase, so the band is high, and above it is fine too.",
        "band.why.chat.newcomer": "In a chat the client writes briefly and a price list, photo or link stands in for "
                                  "some script lines, so a chat's band starts lower than a call's.",
        "band.why.call.experienced": "An experienced manager works by the general structure: own words, no template "
                                     "phrases, but every stage said — so the band is lower than a newcomer's.",
        "band.why.chat.experienced": "An experienced manager writes in their own words by the general structure, no "
                                     "template phrases but every stage — so the band is lower than a newcomer's.",
        "band.why.team": "The band is how much of the script must be said: a newcomer follows it almost word for word, "
                         "a chat's band starts lower than a call's, an experienced manager uses own words by the "
                         "general structure; team.yaml sets the bands.",
    },
}
