"""The recognition-quality strings of the call page and the review app (noisy rooms, poor recordings), ru and en.

Kept apart from ``i18n.CATALOGUE`` for size only: ``i18n`` merges them, as it does the review strings.
"""
from __future__ import annotations

QUALITY_CATALOGUE: dict[str, dict[str, str]] = {
    "ru": {
        "speaker.background": "Фон",
        "quality.good": "Качество записи: хорошее",
        "quality.fair": "Качество записи: среднее",
        "quality.poor": "Качество записи: низкое",
        "quality.channel": "канал",
        "quality.figures": "неуверенных слов {low} %, сигнал/шум {snr} дБ, слов фона {background}",
        "stage.uncertain": "неуверенно: слова распознаны плохо — проверьте",
        "forbidden.uncertain": "не засчитана: распознана неуверенно — проверьте",
        "call.flagged": "проверьте",
    },
    "en": {
        "speaker.background": "Background",
        "quality.good": "Recording quality: good",
        "quality.fair": "Recording quality: fair",
        "quality.poor": "Recording quality: poor",
        "quality.channel": "channel",
        "quality.figures": "low-confidence words {low} %, signal-to-noise {snr} dB, background words {background}",
        "stage.uncertain": "uncertain: the words were poorly recognised — please check",
        "forbidden.uncertain": "not charged: poorly recognised — please check",
        "call.flagged": "check",
    },
}
