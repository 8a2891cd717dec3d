"""What the engine says to people, as codes with values, rendered in the reader's language.

The engine decides (a call did not connect, a newcomer is not ready yet) and records *why* as a ``Message``: a
code and its values. Text is made only when someone reads it: Russian for the CLI and stored results, and the
report's language in reports, so an English report holds no Russian but names, script lines and transcripts.
"""
from __future__ import annotations

from typing import Union

from pydantic import BaseModel, Field

TEXTS: dict[str, dict[str, str]] = {
    "ru": {
        "no_speech": "в записи нет речи",
        "voicemail": "автоответчик или сообщение оператора («{marker}»)",
        "wrong_number": "ошиблись номером («{phrase}»)",
        "one_side_client": "говорила только одна сторона (клиент почти не говорил)",
        "one_side_manager": "говорила только одна сторона (менеджер почти не говорил)",
        "too_little_talk": "слишком мало разговора: {seconds:.0f} с речи обеих сторон",
        "too_short": "слишком короткий разговор ({words} слов)",
        "client_silent": "клиент не говорил (только одна сторона)",
        "manager_silent": "менеджер не говорил (только одна сторона)",
        "client_few_words": "клиент почти не говорил ({words} слов)",
        "hang_up": "сброс после одной-двух реплик ({turns} реплики)",
        "speakers_unknown": "говорящие не размечены: вся речь засчитана как речь менеджера",
        "meaning_not_checked": "смысл не проверен: модель смысла не загрузилась, оценка только по словам",
        "channels_mixed": "{channels} каналов в файле: сведены в один",
        "channels_same": "Оба канала стерео-записи одинаковы: запись обработана как моно",
        "dropped": "Отброшено фрагментов, распознанных в тишине или зациклившихся: {count}",
        "mono": "Моно-запись: менеджер и клиент не разделены, звонок оценён по всему тексту",
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
        "ready_no_calls": "нет соединённых звонков для оценки",
        "ready_band": "в коридоре {share:.0f} % звонков (нужно ≥ {need:.0f} %); ниже коридора: {below} из {calls}",
        "ready_stage": "этап {stage} есть в {share:.0f} % звонков (нужно ≥ {need:.0f} %)",
        "ready_few_calls": "мало звонков для решения: {calls} из {needed}",
        "chat_side_guessed": "Менеджер в переписке определён по скрипту: «{name}» ({fit} против {other}); "
                             "добавьте его имя в chat_names в team.yaml или задайте --manager-name, если это не так",
        "chat_no_reply": "клиент не ответил в переписке",
        "chat_no_answer": "менеджер не ответил клиенту в переписке",
        "override_orphaned": "решение руководителя по этапу «{stage}» ({by}, {at}) не применено: этапа больше нет "
                             "в скрипте",
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
        "too_short": "too short a conversation ({words} words)",
        "client_silent": "the client did not speak (one side only)",
        "manager_silent": "the manager did not speak (one side only)",
        "client_few_words": "the client hardly spoke ({words} words)",
        "hang_up": "hung up after a line or two ({turns} turns)",
        "speakers_unknown": "speakers are not marked: all speech was counted as the manager's",
        "meaning_not_checked": "meaning not checked: the meaning model could not load, scored by words only",
        "channels_mixed": "{channels} channels in the file: mixed into one",
        "channels_same": "both channels of the stereo recording are the same: processed as mono",
        "dropped": "fragments recognised in silence or looping, dropped: {count}",
        "mono": "mono recording: manager and client are not apart, the call was scored on all the text",
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
        "ready_no_calls": "no connected calls to judge",
        "ready_band": "{share:.0f}% of calls within the band (needs ≥ {need:.0f}%); below the band: {below} of {calls}",
        "ready_stage": "stage {stage} is present in {share:.0f}% of calls (needs ≥ {need:.0f}%)",
        "ready_few_calls": "too few calls to decide: {calls} of {needed}",
        "chat_side_guessed": "the manager's side of the chat was guessed from the script: «{name}» ({fit} vs "
                             "{other}); add the name to chat_names in team.yaml or pass --manager-name if it is not",
        "chat_no_reply": "the client did not reply in the chat",
        "chat_no_answer": "the manager did not answer the client in the chat",
        "override_orphaned": "the lead's decision on stage «{stage}» ({by}, {at}) is not applied: the stage is no "
                             "longer in the script",
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
        return template.format(**self.params)


def render(message: Union[Message, str, None], lang: str = "ru") -> str:
    """A message as text; plain text (stored by an older version) is shown as it is."""
    if message is None:
        return ""
    return message.text(lang) if isinstance(message, Message) else str(message)
