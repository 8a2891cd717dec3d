"""PBX leg files and stereo files that are really one channel: recognised and handled as the right kind of call."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from compliance.batch.discover import discover
from compliance.speech.decode import audio_hash, decode_audio
from compliance.speech.legs import leg_partner, legs, second_leg
from tests.test_audio import AUDIO, _write_wav


@pytest.fixture(scope="module")
def stereo() -> list[np.ndarray]:
    return decode_audio(AUDIO / "call_full.stereo.ogg").channels


def test_an_asterisk_leg_pair_is_one_two_channel_call(tmp_path, stereo):
    inbound = _write_wav(tmp_path / "1701-20261206-in.wav", stereo[0][None], rate=16000)
    outbound = _write_wav(tmp_path / "1701-20261206-out.wav", stereo[1][None, :-800], rate=16000)  # 50 ms shorter
    assert leg_partner(inbound) == outbound and legs(outbound) == (inbound, outbound)
    assert second_leg(outbound) and not second_leg(inbound)
    for leg in (inbound, outbound):
        decoded = decode_audio(leg)
        assert decoded.stereo and decoded.messages[0].code == "legs_joined"
        assert len(decoded.channels[0]) == len(decoded.channels[1]) == len(stereo[0])
        assert np.allclose(decoded.channels[0], stereo[0], atol=1e-3)
    assert audio_hash(inbound) == audio_hash(outbound)  # one call, one identity: both legs' bytes
    found, failures, ignored = discover(tmp_path)
    assert found == [inbound] and not failures and [Path(i).name for i in ignored] == [outbound.name]


def test_a_lone_leg_or_a_name_that_only_looks_like_one_is_a_plain_recording(tmp_path, stereo):
    alone = _write_wav(tmp_path / "call-in.wav", stereo[0][None])
    assert leg_partner(alone) is None and not decode_audio(alone).stereo
    checkin = _write_wav(tmp_path / "checkin.wav", stereo[0][None])
    assert leg_partner(checkin) is None


def test_stereo_with_a_silent_channel_is_mono(tmp_path, stereo):
    mix = (stereo[0] + stereo[1]) * 0.7
    path = _write_wav(tmp_path / "mix-left.wav", np.stack([mix, np.zeros_like(mix)]))
    decoded = decode_audio(path)
    assert not decoded.stereo and decoded.messages[0].code == "channel_empty_mono"
    assert "правый" in decoded.messages[0].text("ru")


def test_stereo_with_a_duplicated_channel_at_another_level_is_mono(tmp_path, stereo):
    mix = (stereo[0] + stereo[1]) * 0.6
    path = _write_wav(tmp_path / "dup.wav", np.stack([mix, mix * 0.5 + 0.0005]))
    decoded = decode_audio(path)
    assert not decoded.stereo and decoded.messages[0].code == "channels_same"


def test_a_real_two_party_stereo_call_stays_stereo(stereo, tmp_path):
    path = _write_wav(tmp_path / "two.wav", np.stack(stereo))
    assert decode_audio(path).stereo


def test_legs_live_beside_each_other_only(tmp_path, stereo):
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    _write_wav(tmp_path / "a" / "x-in.wav", stereo[0][None])
    _write_wav(tmp_path / "b" / "x-out.wav", stereo[1][None])
    assert leg_partner(Path(tmp_path / "a" / "x-in.wav")) is None
