"""A call recognised alone has its windows split, in order, between the model's replicas; several at once do not."""
from __future__ import annotations

from types import SimpleNamespace

from compliance.speech import recognise as rec
from compliance.speech.engine import TranscribeOptions


def _model(replicas: int):
    return SimpleNamespace(model=SimpleNamespace(num_workers=replicas))


SLOTS = [[(0, k * 10, k * 10 + 5)] for k in range(5)]


def test_alone_the_windows_are_split_in_order():
    with rec.recognising():
        parts = rec._lanes(_model(2), SLOTS, TranscribeOptions())
    assert parts == [SLOTS[:3], SLOTS[3:]]
    assert rec._lanes(_model(1), SLOTS, TranscribeOptions()) == [SLOTS]
    assert rec._lanes(_model(4), SLOTS[:1], TranscribeOptions()) == [SLOTS[:1]]
    assert rec._lanes(_model(2), SLOTS, TranscribeOptions(language="auto")) == [SLOTS]  # detected on the first


def test_beside_another_recording_one_run():
    with rec.recognising(), rec.recognising():
        assert rec._lanes(_model(2), SLOTS, TranscribeOptions()) == [SLOTS]
    with rec.recognising():
        assert len(rec._lanes(_model(2), SLOTS, TranscribeOptions())) == 2
