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
        "ready_no_calls": "нет соединённых звонков для оценки",
        "ready_band": "в коридоре {share:.0f} % звонков (нужно ≥ {need:.0f} %); ниже коридора: {below} из {calls}",
        "ready_stage": "этап {stage} есть в {share:.0f} % звонков (нужно ≥ {need:.0f} %)",
        "ready_few_calls": "мало звонков для решения: {calls} из {needed}",
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
        "ready_no_calls": "no connected calls to judge",
        "ready_band": "{share:.0f}% of calls within the band (needs ≥ {need:.0f}%); below the band: {below} of {calls}",
        "ready_stage": "stage {stage} is present in {share:.0f}% of calls (needs ≥ {need:.0f}%)",
        "ready_few_calls": "too few calls to decide: {calls} of {needed}",
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
