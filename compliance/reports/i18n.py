"""Every UI string of the reports, in Russian (default) and English, plus number and date formatting.

Templates call ``_("key", **values)``; a key missing from the catalogue is an error, not silent
English, so a test can prove both languages are complete.
"""
from __future__ import annotations

import datetime as dt
import re
from typing import Optional

from compliance.errors import ReportError
from compliance.text.formats import format_number
from compliance.text.plural import plural_form

from .i18n_quality import QUALITY_CATALOGUE
from .i18n_review import REVIEW_CATALOGUE
from .i18n_verdict import VERDICT_CATALOGUE

LANGUAGES = ("ru", "en")

CATALOGUE: dict[str, dict[str, str]] = {
    "ru": {
        "footer.generated": "Отчёт создан",
        # call page
        "call.title": "Звонок",
        "call.heading": "Звонок",
        "chat.heading": "Переписка",
        "chat.section": "Переписка: скорость ответа",
        "chat.first_response": "Первый ответ менеджера",
        "chat.longest_wait": "Самое долгое ожидание клиента",
        "chat.messages": "Сообщений менеджера / клиента",
        "chat.unanswered": "Последнее сообщение клиента без ответа",
        "chat.na": "—",
        "manager.row.chats": "Переписок с ответом клиента / всего",
        "manager.day_chats": "переписок с ответом",
        "team.today_split": "звонки {calls} · переписки {chats}",
        "call.back": "Все звонки",
        "call.prev": "Предыдущий",
        "call.next": "Следующий",
        "call.duration": "длительность",
        "call.script": "скрипт",
        "call.file": "файл",
        "call.not_connected": "Звонок не состоялся",
        "chat.not_connected": "Переписка не состоялась",
        "call.reason": "Причина",
        "call.not_scored": "Соответствие скрипту не оценивалось.",
        "call.adherence": "соответствие скрипту",
        "call.band_is": "Коридор для {level}:",
        "call.gap_below": "не хватает {gap} п.п. до коридора",
        "call.gap_above": "на {gap} п.п. выше коридора",
        "call.stages_present": "обязательных этапов: {present} из {total}",
        "call.coverage": "покрытие",
        "call.structure": "структура: этапы по смыслу",
        "page.meaning_unchecked": "Смысл не проверен в {n} звонк(ах): модель смысла не загрузилась, они оценены только по словам.",
        "call.wording": "формулировки",
        "call.meaning_not_checked": "Смысл не проверен: модель смысла не загрузилась, звонок оценён только по словам.",
        "line.own_words": "сказано своими словами",
        "line.meaning": "смысл",
        "manager.row.structure": "Средняя структура",
        "team.col.structure": "Структура",
        "team.structure": "средняя структура",
        "calls.structure": "Структ.",
        "call.order_ok": "порядок этапов соблюдён",
        "call.order_bad": "порядок этапов нарушен",
        "call.forbidden_n": "запрещённых фраз",
        "call.forbidden_none": "запрещённых фраз нет",
        "call.no_audio_support": "Браузер не умеет проигрывать запись.",
        "call.recording": "запись звонка",
        "call.player_hint": "нажмите на время строки, чтобы прослушать это место",
        "call.missed": "Пропущены обязательные этапы",
        "call.checklist": "Этапы по скрипту",
        "call.go": "перейти",
        "call.forbidden": "Запрещённые фразы",
        "call.order": "Нарушения порядка",
        "call.talk": "Кто сколько говорил",
        "call.transcript": "Расшифровка",
        "call.speakers_unknown": "Говорящие не разделены (запись в одном канале): реплики не подписаны.",
        "call.no_transcript": "Расшифровка не сохранена.",
        "stage.optional": "необязательный",
        "stage.score": "балл",
        "stage.state.ok": "есть",
        "stage.state.missed": "пропущен",
        "stage.state.na": "не применим",
        "stage.state.optional": "не звучал",
        "stage.title": "Этап",
        "stage.hit_rate": "Звучит",
        "stage.calls": "Звонков",
        "stage.mean_score": "Ср. балл",
        "line.script": "Скрипт",
        "line.said": "Сказано",
        "line.similarity": "Сходство",
        "line.time": "Время",
        "line.not_said": "не прозвучало",
        "line.or": "или",
        "legend.miss": "слово скрипта не сказано",
        "legend.extra": "сказано сверх скрипта",
        "legend.name": "имя вместо подстановки",
        "legend.hit": "совпало со скриптом",
        "legend.bad": "запрещённая фраза",
        "forbidden.phrase": "Фраза",
        "forbidden.context": "В разговоре",
        "forbidden.times": "Раз",
        "forbidden.in_calls": "В звонках",
        "order.before": "«{stage}» прозвучал раньше этапа «{before}»",
        "talk.manager": "Менеджер",
        "talk.client": "Клиент",
        "talk.monologue": "Самый длинный монолог менеджера",
        "talk.interruptions": "Перебивания",
        "talk.silence": "Паузы",
        "talk.response": "Время ответа менеджера",
        "talk.seconds": "с",
        "speaker.manager": "Менеджер",
        "speaker.client": "Клиент",
        "speaker.unknown": "—",
        "ph.client": "имя клиента",
        "ph.manager": "ваше имя",
        "ph.company": "компания",
        # verdicts and levels
        "verdict.short.within": "в коридоре",
        "verdict.short.below": "ниже коридора",
        "verdict.short.above": "выше коридора",
        "verdict.long.within": "В коридоре: звонок идёт по скрипту так, как нужно",
        "verdict.long.below": "Ниже коридора: звонок слишком далёк от скрипта",
        "verdict.long.above": "Выше коридора: ближе к скрипту, чем нужно на этом уровне",
        "verdict.long.above.newcomer": "Выше коридора: скрипт соблюдён даже точнее, чем требуется новичку",
        "verdict.long.above.experienced": "Выше коридора: много шаблонных фраз — на общей структуре можно говорить своими словами",
        "verdict.nc": "не состоялся",
        "level.newcomer": "Новичок",
        "level.experienced": "Опытный",
        "level.of.newcomer": "новичка",
        "level.of.experienced": "опытного менеджера",
        # readiness
        "ready.title.newcomer": "Переход на общую структуру",
        "ready.title.experienced": "Работа по общей структуре",
        "ready.title.other": "Оценка",
        "ready.long.ready": "готов(а)",
        "ready.long.not_ready": "пока не готов(а)",
        "ready.long.unknown": "пока мало данных",
        "ready.long.review": "нужна проверка",
        "ready.long.ok": "в порядке",
        "ready.short.ready": "готов(а)",
        "ready.short.not_ready": "не готов(а)",
        "ready.short.unknown": "мало данных",
        "ready.short.review": "на проверку",
        "ready.short.ok": "в порядке",
        "ready.basis": "По последним {n} соединённым звонкам (окно {window})",
        "ready.share": "в коридоре или выше",
        "ready.mean": "среднее",
        "ready.below": "ниже коридора",
        "ready.stage_presence": "Как часто звучит каждый этап",
        # manager page
        "manager.title": "звонки и динамика",
        "manager.band": "коридор",
        "manager.calls_from_to": "звонки с {first} по {last}",
        "manager.summary": "Итоги",
        "manager.as_of": "на",
        "manager.target": "цель",
        "manager.row.connected": "Соединённых звонков / всего",
        "manager.row.per_day": "Соединённых в день",
        "manager.row.mean": "Среднее соответствие",
        "manager.row.in_band": "Звонков в коридоре или выше",
        "manager.trend": "Соответствие скрипту по дням",
        "manager.daily": "Соединённые звонки по дням",
        "manager.stages": "Какие этапы звучат, а какие пропускаются",
        "manager.forbidden": "Запрещённые фразы",
        "manager.forbidden_none": "Запрещённых фраз не было",
        "manager.calls": "Все звонки",
        "manager.no_date": "Без даты",
        "manager.day_connected": "соединённых",
        "period.day": "День",
        "period.week": "7 дней",
        "period.month": "30 дней",
        "period.all": "Всё время",
        "calls.time": "Время",
        "calls.adherence": "Соотв.",
        "calls.verdict": "Итог",
        "calls.missed": "Пропущено",
        "calls.forbidden": "Запр.",
        "calls.duration": "Длит.",
        "calls.open": "открыть",
        "chart.band": "коридор",
        "chart.daily_mean": "среднее за день",
        "chart.target": "цель",
        # team page
        "team.title": "Команда: соответствие скриптам",
        "team.heading": "Команда: соответствие скриптам",
        "team.managers": "менеджеров",
        "team.connected_calls": "соединённых звонков / всего",
        "team.mean": "среднее соответствие",
        "team.in_band": "звонков в коридоре или выше",
        "team.managers_table": "Менеджеры",
        "team.col.manager": "Менеджер",
        "team.col.level": "Уровень",
        "team.col.calls": "Звонки",
        "team.col.today": "Сегодня",
        "team.col.mean": "Среднее",
        "team.col.in_band": "В коридоре или выше",
        "team.col.trend": "Динамика",
        "team.col.readiness": "Готовность",
        "team.trend_hint": "Динамика: среднее по дням за последние 2 недели; стрелка — последние 7 дней против 7 предыдущих, п.п.",
        "team.weak_stages": "Самые слабые этапы команды",
        "team.weak_lines": "Самые слабые строки скрипта",
        "team.line": "Строка скрипта",
        "team.line_similarity": "Ср. сходство",
        "team.failures": "Ошибки последней обработки",
        "team.failure.file": "Файл",
        "team.failure.reason": "Причина",
        "team.no_failures": "Все файлы последней обработки разобраны",
        # the CRM note (compliance pipedrive push)
        "crm.heading.call": "Анализ звонка", "crm.heading.chat": "Анализ переписки",
        "crm.score": "Оценка", "crm.structure": "структура (этапы по смыслу)", "crm.wording": "формулировки (соответствие скрипту)",
        "crm.band": "коридор {level}: {band}", "crm.missed_none": "все обязательные этапы пройдены",
        "crm.summary": "Кратко о разговоре", "crm.summary_none": "ответов для краткого итога в разговоре не нашлось",
        "crm.footer": "Записано call-compliance по файлу {file}", "crm.ref": "метка {ref}",
    },
    "en": {
        "footer.generated": "Report generated",
        "call.title": "Call",
        "call.heading": "Call on",
        "chat.heading": "Chat on",
        "chat.section": "Chat: response times",
        "chat.first_response": "Manager's first response",
        "chat.longest_wait": "Client's longest wait",
        "chat.messages": "Messages by the manager / the client",
        "chat.unanswered": "The client's last message got no reply",
        "chat.na": "—",
        "manager.row.chats": "Chats the client replied in / all",
        "manager.day_chats": "chats replied",
        "team.today_split": "calls {calls} · chats {chats}",
        "call.back": "All calls",
        "call.prev": "Previous",
        "call.next": "Next",
        "call.duration": "duration",
        "call.script": "script",
        "call.file": "file",
        "call.not_connected": "The call did not connect",
        "chat.not_connected": "The chat did not become a conversation",
        "call.reason": "Reason",
        "call.not_scored": "Script adherence was not scored.",
        "call.adherence": "script adherence",
        "call.band_is": "Expected for {level}:",
        "call.gap_below": "{gap} points short of the band",
        "call.gap_above": "{gap} points above the band",
        "call.stages_present": "required stages: {present} of {total}",
        "call.coverage": "coverage",
        "call.structure": "structure: stages by meaning",
        "page.meaning_unchecked": "Meaning not checked in {n} call(s): the meaning model could not load, they were scored by words only.",
        "call.wording": "wording",
        "call.meaning_not_checked": "Meaning not checked: the meaning model could not load, the call was scored by words only.",
        "line.own_words": "said in own words",
        "line.meaning": "meaning",
        "manager.row.structure": "Mean structure",
        "team.col.structure": "Structure",
        "team.structure": "mean structure",
        "calls.structure": "Struct.",
        "call.order_ok": "stage order kept",
        "call.order_bad": "stage order broken",
        "call.forbidden_n": "forbidden phrases",
        "call.forbidden_none": "no forbidden phrases",
        "call.no_audio_support": "This browser cannot play the recording.",
        "call.recording": "recording",
        "call.player_hint": "click a line's time to hear that moment",
        "call.missed": "Required stages missed",
        "call.checklist": "Stages of the script",
        "call.go": "go",
        "call.forbidden": "Forbidden phrases",
        "call.order": "Order violations",
        "call.talk": "Who talked how much",
        "call.transcript": "Transcript",
        "call.speakers_unknown": "Speakers are not separated (single-channel recording): turns are unlabelled.",
        "call.no_transcript": "No transcript was stored.",
        "stage.optional": "optional",
        "stage.score": "score",
        "stage.state.ok": "present",
        "stage.state.missed": "missed",
        "stage.state.na": "not applicable",
        "stage.state.optional": "not said",
        "stage.title": "Stage",
        "stage.hit_rate": "Said in",
        "stage.calls": "Calls",
        "stage.mean_score": "Mean score",
        "line.script": "Script",
        "line.said": "Said",
        "line.similarity": "Similarity",
        "line.time": "Time",
        "line.not_said": "not said",
        "line.or": "or",
        "legend.miss": "script word not said",
        "legend.extra": "said beyond the script",
        "legend.name": "a name for a placeholder",
        "legend.hit": "matches the script",
        "legend.bad": "forbidden phrase",
        "forbidden.phrase": "Phrase",
        "forbidden.context": "In the conversation",
        "forbidden.times": "Times",
        "forbidden.in_calls": "In calls",
        "order.before": "“{stage}” came before “{before}”",
        "talk.manager": "Manager",
        "talk.client": "Client",
        "talk.monologue": "Longest manager monologue",
        "talk.interruptions": "Interruptions",
        "talk.silence": "Silence",
        "talk.response": "Manager's response time",
        "talk.seconds": "s",
        "speaker.manager": "Manager",
        "speaker.client": "Client",
        "speaker.unknown": "—",
        "ph.client": "client's name",
        "ph.manager": "your name",
        "ph.company": "company",
        "verdict.short.within": "within the band",
        "verdict.short.below": "below the band",
        "verdict.short.above": "above the band",
        "verdict.long.within": "Within the band: the call follows the script as expected",
        "verdict.long.below": "Below the band: the call strays too far from the script",
        "verdict.long.above": "Above the band: closer to the script than this level calls for",
        "verdict.long.above.newcomer": "Above the band: the script is followed even more closely than a newcomer needs",
        "verdict.long.above.experienced": "Above the band: many template phrases — the general structure allows own words",
        "verdict.nc": "not connected",
        "level.newcomer": "Newcomer",
        "level.experienced": "Experienced",
        "level.of.newcomer": "a newcomer",
        "level.of.experienced": "an experienced manager",
        "ready.title.newcomer": "Move to the general structure",
        "ready.title.experienced": "Working to the general structure",
        "ready.title.other": "Assessment",
        "ready.long.ready": "ready",
        "ready.long.not_ready": "not ready yet",
        "ready.long.unknown": "not enough calls yet",
        "ready.long.review": "needs a review",
        "ready.long.ok": "on track",
        "ready.short.ready": "ready",
        "ready.short.not_ready": "not ready",
        "ready.short.unknown": "too few calls",
        "ready.short.review": "review",
        "ready.short.ok": "on track",
        "ready.basis": "Over the last {n} connected calls (window {window})",
        "ready.share": "within or above the band",
        "ready.mean": "mean",
        "ready.below": "below the band",
        "ready.stage_presence": "How often each stage is said",
        "manager.title": "calls and progress",
        "manager.band": "band",
        "manager.calls_from_to": "calls from {first} to {last}",
        "manager.summary": "Summary",
        "manager.as_of": "as of",
        "manager.target": "target",
        "manager.row.connected": "Connected calls / all",
        "manager.row.per_day": "Connected calls a day",
        "manager.row.mean": "Mean adherence",
        "manager.row.in_band": "Calls within or above the band",
        "manager.trend": "Script adherence by day",
        "manager.daily": "Connected calls by day",
        "manager.stages": "Which stages are said and which are skipped",
        "manager.forbidden": "Forbidden phrases",
        "manager.forbidden_none": "No forbidden phrases",
        "manager.calls": "All calls",
        "manager.no_date": "No date",
        "manager.day_connected": "connected",
        "period.day": "Day",
        "period.week": "7 days",
        "period.month": "30 days",
        "period.all": "All time",
        "calls.time": "Time",
        "calls.adherence": "Adherence",
        "calls.verdict": "Verdict",
        "calls.missed": "Missed",
        "calls.forbidden": "Forb.",
        "calls.duration": "Length",
        "calls.open": "open",
        "chart.band": "band",
        "chart.daily_mean": "daily mean",
        "chart.target": "target",
        "team.title": "Team: script adherence",
        "team.heading": "Team: script adherence",
        "team.managers": "managers",
        "team.connected_calls": "connected calls / all",
        "team.mean": "mean adherence",
        "team.in_band": "calls within or above the band",
        "team.managers_table": "Managers",
        "team.col.manager": "Manager",
        "team.col.level": "Level",
        "team.col.calls": "Calls",
        "team.col.today": "Today",
        "team.col.mean": "Mean",
        "team.col.in_band": "Within or above the band",
        "team.col.trend": "Trend",
        "team.col.readiness": "Readiness",
        "team.trend_hint": "Trend: daily mean over the last 2 weeks; the arrow compares the last 7 days with the 7 before, in points.",
        "team.weak_stages": "The team's weakest stages",
        "team.weak_lines": "The weakest script lines",
        "team.line": "Script line",
        "team.line_similarity": "Mean similarity",
        "team.failures": "Failures of the last batch",
        "team.failure.file": "File",
        "team.failure.reason": "Reason",
        "team.no_failures": "Every file of the last batch was processed",
        # the CRM note (compliance pipedrive push)
        "crm.heading.call": "Call analysis", "crm.heading.chat": "Chat analysis",
        "crm.score": "Score", "crm.structure": "structure (stages by meaning)", "crm.wording": "wording (script adherence)",
        "crm.band": "band for {level}: {band}", "crm.missed_none": "all required stages present",
        "crm.summary": "Summary of the conversation", "crm.summary_none": "no answers for a summary were found in the conversation",
        "crm.footer": "Written by call-compliance from {file}", "crm.ref": "ref {ref}",
    },
}

_PLURALS = {
    "ru": {"calls": ("звонок", "звонка", "звонков")},
    "en": {"calls": ("call", "calls", "calls")},
}
_NBSP = "\u00a0"
_PLACEHOLDER = re.compile(r"\{(\w+)\}")


for _lang in CATALOGUE:
    CATALOGUE[_lang].update({**REVIEW_CATALOGUE[_lang], **VERDICT_CATALOGUE[_lang], **QUALITY_CATALOGUE[_lang]})



class Translator:
    """The strings and number/date formats of one language; callable as ``_("key", **values)``."""

    def __init__(self, lang: str = "ru") -> None:
        if lang not in CATALOGUE:
            raise ReportError(f"unknown report language {lang!r} (known: {', '.join(LANGUAGES)})")
        self.lang = lang
        self.strings = CATALOGUE[lang]

    def __call__(self, key: str, **values: object) -> str:
        try:
            text = self.strings[key]
        except KeyError:
            raise ReportError(f"no {self.lang!r} text for {key!r} in compliance/i18n.py") from None
        return text.format(**values) if values else text

    def placeholder(self, name: str) -> str:
        """What a script placeholder (``{client}``) is called, for showing script lines."""
        return self.strings.get(f"ph.{name}", "{" + name + "}")

    def script_text(self, text: str) -> str:
        """A script line with its placeholders named: ``Добрый день, ‹имя клиента›!``."""
        return _PLACEHOLDER.sub(lambda m: "‹" + self.placeholder(m.group(1)) + "›", text)

    def number(self, value: Optional[float], digits: int = 0) -> str:
        return "—" if value is None else format_number(value, self.lang, digits)

    def percent(self, value: Optional[float], digits: int = 0) -> str:
        """``87,5 %`` in Russian, ``87.5%`` in English."""
        if value is None:
            return "—"
        return self.number(value, digits) + (_NBSP + "%" if self.lang == "ru" else "%")

    def signed(self, value: Optional[float], digits: int = 1) -> str:
        if value is None:
            return "—"
        sign = "+" if value > 0 else ("−" if value < 0 else "±")
        return sign + self.number(abs(value), digits)

    def clock(self, seconds: Optional[float]) -> str:
        """``m:ss`` (or ``h:mm:ss``) for a time or a length in seconds."""
        if seconds is None:
            return ""
        total = int(max(0.0, seconds))
        h, rest = divmod(total, 3600)
        m, s = divmod(rest, 60)
        return f"{h}:{m:02d}:{s:02d}" if h else f"{m}:{s:02d}"

    duration = clock

    def date_long(self, value: Optional[str]) -> str:
        """``27 ноября 2026`` / ``27 November 2026`` from an ISO date (other text is shown as is)."""
        day = self._parse(value)
        if day is None:
            return value or ""
        from babel.dates import format_date  # late: `compliance report --help` reads LANGUAGES without Babel

        return format_date(day, "d MMMM y", locale=self.lang)

    def date_short(self, value: Optional[str]) -> str:
        """``27.11.2026`` / ``27 Nov 2026``."""
        day = self._parse(value)
        if day is None:
            return value or ""
        from babel.dates import format_date

        return format_date(day, "dd.MM.y" if self.lang == "ru" else "d MMM y", locale=self.lang)

    def plural(self, n: int, word: str) -> str:
        """The form of ``word`` (a plural key such as ``calls``) that goes with ``n``."""
        return plural_form(n, _PLURALS[self.lang][word], self.lang)

    @staticmethod
    def _parse(value: Optional[str]) -> Optional[dt.date]:
        try:
            return dt.date.fromisoformat(str(value)[:10]) if value else None
        except ValueError:
            return None
