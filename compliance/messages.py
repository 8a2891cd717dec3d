"""What the engine says to people, as codes with values, rendered in the reader's language.

The engine decides (a call did not connect, a newcomer is not ready yet) and records *why* as a ``Message``: a
code and its values. Text is made only when someone reads it: Russian for the CLI and stored results, and the
report's language in reports, so an English report holds no Russian but names, script lines and transcripts.
"""
from __future__ import annotations

from typing import Union

from pydantic import BaseModel, Field

from compliance.text.plural import format_message

TEXTS: dict[str, dict[str, str]] = {
    "ru": {
        "no_speech": "в записи нет речи",
        "voicemail": "автоответчик или сообщение оператора («{marker}»)",
        "wrong_number": "ошиблись номером («{phrase}»)",
        "one_side_client": "говорила только одна сторона (клиент почти не говорил)",
        "one_side_manager": "говорила только одна сторона (менеджер почти не говорил)",
        "too_little_talk": "слишком мало разговора: {seconds:.0f} с речи обеих сторон",
        "too_short": "слишком короткий разговор ({words} {words:plural:слово|слова|слов})",
        "client_silent": "клиент не говорил (только одна сторона)",
        "manager_silent": "менеджер не говорил (только одна сторона)",
        "client_few_words": "клиент почти не говорил ({words} {words:plural:слово|слова|слов})",
        "hang_up": "сброс после одной-двух реплик ({turns} {turns:plural:реплика|реплики|реплик})",
        "speakers_unknown": "говорящие не размечены: вся речь засчитана как речь менеджера",
        "meaning_not_checked": "смысл не проверен: модель смысла не загрузилась, оценка только по словам",
        "channels_mixed": "{channels} каналов в файле: сведены в один",
        "channels_same": "Оба канала стерео-записи одинаковы: запись обработана как моно",
        "dropped": "Отброшено фрагментов, распознанных в тишине или зациклившихся: {count}",
        "mono": "Моно-запись: менеджер и клиент не разделены, звонок оценён по всему тексту",
        "legs_joined": "Две записи одного звонка (плечи АТС): эта и {other}, обработаны как стерео",
        "channel_empty_mono": "В стерео-записи {side_ru} канал пуст: вся речь в другом, запись обработана как моно",
        "mono_diarized": "Моно-запись: стороны разделены по голосу (голосов: {voices}); менеджер определён "
                         "{by_ru}, уверенность {confidence} %",
        "speakers_not_separated": "говорящие не разделены: проверьте, кто менеджер, прежде чем звонок будет учтён",
        "manager_side_script": "Канал менеджера выбран автоматически: {side_ru} — его речь ближе к скрипту "
                               "({fit} против {other}); задайте --manager-channel, если это не так",
        "manager_side_speech": "Канал менеджера выбран автоматически: {side_ru} — в нём больше речи "
                               "({seconds:.0f} с против {other:.0f} с); задайте --manager-channel, если это не так",
        "manager_side_default": "Канал менеджера не определить по речи: принят левый; задайте --manager-channel, "
                                "если это не так",
        "channel_silent_manager": "В канале менеджера ({side_ru}) речи нет",
        "channel_silent_client": "В канале клиента ({side_ru}) речи нет",
        "no_speech_recognised": "В записи не распознано речи",
        "unknown_prefix": "строка {line}: «{prefix}:» — не менеджер и не клиент; текст добавлен к реплике",
        "no_prefixes": "ни одна строка не начинается с «М:» или «К:»: начните реплику менеджера с «М:», клиента — с «К:»",
        "ready_no_calls": "нет соединённых звонков для оценки",
        "ready_band": "в коридоре или выше коридора {share:.0f} % звонков (нужно ≥ {need:.0f} %); ниже коридора: "
                      "{below} из {calls}",
        "ready_stage": "этап {stage} есть в {share:.0f} % звонков (нужно ≥ {need:.0f} %)",
        "ready_few_calls": "мало звонков для решения: {calls} из {needed}",
        "chat_side_guessed": "Менеджер в переписке определён по скрипту: «{name}» ({fit} против {other}); "
                             "добавьте его имя в chat_names в team.yaml или задайте --manager-name, если это не так",
        "chat_no_reply": "клиент не ответил в переписке",
        "chat_no_answer": "менеджер не ответил клиенту в переписке",
        "override_orphaned": "решение руководителя по этапу «{stage}» ({by}, {at}) не применено: этапа больше нет "
                             "в скрипте",
        "pbx_present": "уже загружен",
        "pbx_fetched": "{size} байт → {file}",
        "pbx_dial_no_answer": "без ответа — засчитан как набор, не оценивается",
        "pbx_dial_busy": "занято — засчитан как набор, не оценивается",
        "pbx_dial_failed": "не соединился — засчитан как набор, не оценивается",
        "pbx_dial_unrecorded": "отвечен, но без записи — засчитан, не оценивается",
        "pbx_unassigned": "внутренний номер {extension} не указан ни у одного менеджера (pbx_extensions в team.yaml); "
                          "добавьте его и запустите fetch снова",
        "pbx_failed": "{reason}; повторится при следующей загрузке",
        "pbx_gone": "{reason}",
        "pbx_listing": "список звонков: {reason}; следующая загрузка запросит его снова",
        "pbx_summary": "{provider} {period}: {counts}",
        "pbx_period_queue": "звонки из очереди и на повтор",
        "pbx_no_calls": "звонков нет",
        "pbx_count_fetched": "загружено {n}",
        "pbx_count_present": "уже было {n}",
        "pbx_count_dial": "наборов без записи {n}",
        "pbx_count_unassigned": "без менеджера {n}",
        "pbx_count_failed": "не удалось {n}",
        "pbx_count_gone": "записи нет в АТС {n}",
        "watch_scored": "новых файлов: {files}; проанализировано {analysed}, пропущено {skipped}, с ошибкой {failed}",
        "watch_start": "слежу за {folder} (Ctrl-C — остановить)",
        "watch_once": "анализирую то, что уже есть в {folder}",
        "watch_stopped": "остановлено",
        "ready_counts_newcomer": "К переходу на общую структуру засчитываются звонки в коридоре и выше коридора; "
                                 "звонки ниже коридора не засчитываются.",
        "ready_counts_experienced": "На общей структуре в порядке звонки в коридоре и выше коридора; звонки ниже "
                                    "коридора — повод для проверки.",
        "branch_taken": "Ветка „{title}“: не оцениваются {stages} — менеджер ясно сказал, что запрос выполнить нельзя",
        "branch_taken_by_lead": "Ветка „{title}“ пройдена по решению руководителя ({by}): не оцениваются {stages}",
        "branch_not_taken_by_lead": "Ветка „{title}“ не пройдена по решению руководителя ({by}): этапы {stages} "
                                    "оцениваются",
        "branch_not_taken_weak": "Ветка „{title}“ не засчитана: менеджер не сказал ясно, что запрос выполнить "
                                 "нельзя; этапы {stages} оцениваются",
        "branch_not_taken_before_request": "Ветка „{title}“ не засчитана: отказ прозвучал раньше, чем клиент "
                                           "рассказал о запросе; этапы {stages} оцениваются",
        "branch_not_taken_competing": "Ветка „{title}“ не засчитана: в звонке есть этап «{rival}»; этапы {stages} "
                                      "оцениваются",
        "critical_phrase": "Критическая фраза «{phrase}» ({at}): звонок ниже коридора, каким бы ни было "
                           "соответствие скрипту",
        "required_missing": "Нет обязательного этапа: {stages} — звонок ниже коридора, каким бы ни было "
                            "соответствие скрипту",
        "minor_penalty": "Запрещённые фразы: −{points:g} п.п. к соответствию ({count} × {each:g} п.п., "
                         "не больше {cap:g})",
        "order_penalty": "Порядок этапов: −{points:g} п.п. к соответствию ({count} × {each:g} п.п. за этап не на "
                         "своём месте)",
        "order_changed_within": "Вердикт изменил порядок этапов: без штрафа за порядок звонок был бы в коридоре",
        "order_changed_above": "Вердикт изменил порядок этапов: без штрафа за порядок звонок был бы выше коридора",
        "order_changed_below": "Вердикт изменил порядок этапов: без штрафа за порядок звонок был бы ниже коридора",
        "stage_before": "сказано раньше этапа «{before}», там эта фраза своей работы не делает — не засчитано",
        "stage_not_at_end": "прощание посреди разговора (после него ещё {turns} реплик) — не засчитано",
        "stage_before_client": "сказано до того, как клиент заговорил: это не ответ на его запрос — не засчитано",
        "stage_no_introduction": "менеджер не представился (ни имени, ни компании): приветствие без представления "
                                 "— не засчитано",
        "poor_recognition": "запись плохо распознана — проверьте: оценка ждёт подтверждения руководителя и не "
                            "учитывается в готовности",
        "quality_good": "качество записи: хорошее",
        "quality_fair": "качество записи: среднее",
        "quality_poor": "качество записи: низкое",
    },
    "en": {
        "no_speech": "no speech in the recording",
        "voicemail": "voicemail or an operator message («{marker}»)",
        "wrong_number": "wrong number («{phrase}»)",
        "one_side_client": "only one side spoke (the client hardly spoke)",
        "one_side_manager": "only one side spoke (the manager hardly spoke)",
        "too_little_talk": "too little conversation: {seconds:.0f} s of speech from both sides",
        "too_short": "too short a conversation ({words} {words:plural:word|words})",
        "client_silent": "the client did not speak (one side only)",
        "manager_silent": "the manager did not speak (one side only)",
        "client_few_words": "the client hardly spoke ({words} {words:plural:word|words})",
        "hang_up": "hung up after a line or two ({turns} {turns:plural:turn|turns})",
        "speakers_unknown": "speakers are not marked: all speech was counted as the manager's",
        "meaning_not_checked": "meaning not checked: the meaning model could not load, scored by words only",
        "channels_mixed": "{channels} channels in the file: mixed into one",
        "channels_same": "both channels of the stereo recording are the same: processed as mono",
        "dropped": "fragments recognised in silence or looping, dropped: {count}",
        "mono": "mono recording: manager and client are not apart, the call was scored on all the text",
        "legs_joined": "two recordings of one call (PBX legs): this one and {other}, processed as stereo",
        "channel_empty_mono": "the {side_en} channel of the stereo recording is empty: all speech is in the other, "
                              "processed as mono",
        "mono_diarized": "mono recording: the parties were told apart by voice ({voices} voices); the manager was "
                         "chosen {by_en}, confidence {confidence}%",
        "speakers_not_separated": "speakers not separated: check who the manager is before the call counts",
        "manager_side_script": "manager's channel chosen automatically: {side_en} — its speech is closer to the "
                               "script ({fit} vs {other}); set --manager-channel if it is not",
        "manager_side_speech": "manager's channel chosen automatically: {side_en} — it has more speech "
                               "({seconds:.0f} s vs {other:.0f} s); set --manager-channel if it is not",
        "manager_side_default": "the manager's channel cannot be told by speech: left assumed; set "
                                "--manager-channel if it is not",
        "channel_silent_manager": "no speech in the manager's channel ({side_en})",
        "channel_silent_client": "no speech in the client's channel ({side_en})",
        "no_speech_recognised": "no speech recognised in the recording",
        "unknown_prefix": "line {line}: «{prefix}:» is neither the manager nor the client; its text was added to the turn",
        "no_prefixes": "no line starts with «М:» or «К:»: start the manager's turns with «М:», the client's with «К:»",
        "ready_no_calls": "no connected calls to judge",
        "ready_band": "{share:.0f}% of calls within or above the band (needs ≥ {need:.0f}%); below the band: "
                      "{below} of {calls}",
        "ready_stage": "stage {stage} is present in {share:.0f}% of calls (needs ≥ {need:.0f}%)",
        "ready_few_calls": "too few calls to decide: {calls} of {needed}",
        "chat_side_guessed": "the manager's side of the chat was guessed from the script: «{name}» ({fit} vs "
                             "{other}); add the name to chat_names in team.yaml or pass --manager-name if it is not",
        "chat_no_reply": "the client did not reply in the chat",
        "chat_no_answer": "the manager did not answer the client in the chat",
        "override_orphaned": "the lead's decision on stage «{stage}» ({by}, {at}) is not applied: the stage is no "
                             "longer in the script",
        "pbx_present": "already fetched",
        "pbx_fetched": "{size} bytes → {file}",
        "pbx_dial_no_answer": "no answer — counted as a dial, not scored",
        "pbx_dial_busy": "busy — counted as a dial, not scored",
        "pbx_dial_failed": "not connected — counted as a dial, not scored",
        "pbx_dial_unrecorded": "answered, but nothing recorded — counted, not scored",
        "pbx_unassigned": "extension {extension} is in no manager's pbx_extensions in team.yaml; add it there and "
                          "fetch again",
        "pbx_failed": "{reason}; retried by the next fetch",
        "pbx_gone": "{reason}",
        "pbx_listing": "listing: {reason}; the next fetch asks again",
        "pbx_summary": "{provider} {period}: {counts}",
        "pbx_period_queue": "queued and retried calls",
        "pbx_no_calls": "no calls",
        "pbx_count_fetched": "fetched {n}",
        "pbx_count_present": "present {n}",
        "pbx_count_dial": "dial {n}",
        "pbx_count_unassigned": "unassigned {n}",
        "pbx_count_failed": "failed {n}",
        "pbx_count_gone": "gone {n}",
        "watch_scored": "{files} new file(s): analysed {analysed}, skipped {skipped}, failed {failed}",
        "watch_start": "watching {folder} (Ctrl-C to stop)",
        "watch_once": "scoring what has landed in {folder}",
        "watch_stopped": "stopped",
        "ready_counts_newcomer": "Calls within the band and above the band count toward the move to the general "
                                 "structure; calls below the band do not.",
        "ready_counts_experienced": "On the general structure, calls within the band and above the band are on "
                                    "track; calls below the band call for a review.",
        "branch_taken": "Branch „{title}“: not scored: {stages} — the manager clearly said the request cannot "
                        "be delivered",
        "branch_taken_by_lead": "Branch „{title}“ taken, as the lead decided ({by}): not scored: {stages}",
        "branch_not_taken_by_lead": "Branch „{title}“ not taken, as the lead decided ({by}): {stages} are scored",
        "branch_not_taken_weak": "Branch „{title}“ not counted: the manager did not clearly say the request cannot "
                                 "be delivered; {stages} are scored",
        "branch_not_taken_before_request": "Branch „{title}“ not counted: the refusal came before the client told "
                                           "their request; {stages} are scored",
        "branch_not_taken_competing": "Branch „{title}“ not counted: the call has the stage «{rival}»; {stages} "
                                      "are scored",
        "critical_phrase": "Critical phrase «{phrase}» ({at}): the call is below the band, whatever its adherence",
        "required_missing": "A required stage is missing: {stages} — the call is below the band, whatever its "
                            "adherence",
        "minor_penalty": "Forbidden phrases: −{points:g} points of adherence ({count} × {each:g} points, at most "
                         "{cap:g})",
        "order_penalty": "Order of stages: −{points:g} points of adherence ({count} × {each:g} points per stage "
                         "out of place)",
        "order_changed_within": "The order of stages changed the verdict: without its points the call would be "
                                "within the band",
        "order_changed_above": "The order of stages changed the verdict: without its points the call would be "
                               "above the band",
        "order_changed_below": "The order of stages changed the verdict: without its points the call would be "
                               "below the band",
        "stage_before": "said before the stage «{before}», where it does not do its job — not credited",
        "stage_not_at_end": "a farewell in the middle of the call ({turns} more turns after it) — not credited",
        "stage_before_client": "said before the client spoke: not an answer to their request — not credited",
        "stage_no_introduction": "the manager did not introduce themselves (no name, no company): a greeting "
                                 "without an introduction — not credited",
        "poor_recognition": "recording poorly recognised — please check: the score waits for the lead's "
                            "confirmation and does not count toward readiness",
        "quality_good": "recording quality: good",
        "quality_fair": "recording quality: fair",
        "quality_poor": "recording quality: poor",
    },
}


class Message(BaseModel):
    """Why the engine decided something: a code of ``TEXTS`` and the values its text needs."""

    code: str
    params: dict[str, Union[str, int, float]] = Field(default_factory=dict)

    def text(self, lang: str = "ru") -> str:
        """The message in ``lang`` (Russian when the language or the code is unknown to it)."""
        texts = TEXTS.get(lang, TEXTS["ru"])
        template = texts.get(self.code) or TEXTS["ru"].get(self.code)
        if template is None:
            return str(self.params.get("text", self.code))
        return format_message(template, lang if lang in TEXTS else "ru", **self.params)


def render(message: Union[Message, str, None], lang: str = "ru") -> str:
    """A message as text; plain text (stored by an older version) is shown as it is."""
    if message is None:
        return ""
    return message.text(lang) if isinstance(message, Message) else str(message)
