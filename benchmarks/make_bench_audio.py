"""More stereo calls for the speed/accuracy benchmarks: the development transcripts spoken offline.

The committed audio fixtures hold two distinct two-party calls, too few to tell one recogniser's word error rate
from another's. This speaks ``CALLS`` (development transcripts of tests/fixtures/calls, М:/К: lines) with
festival, the manager on the left channel and the client (pitched up) on the right, as the fixture generator
does, and writes 16 kHz opus files with a manifest of every turn into a cache folder (made once, reused).

Needs Debian ``festival``, ``festvox-ru`` and ``sox`` (``apt-get install festival festvox-ru sox``).

    python benchmarks/make_bench_audio.py          # prints the folder
    python benchmarks/make_bench_audio.py --check  # the second set of twelve other calls
"""
from __future__ import annotations

import importlib.util
import json
import re
import shutil
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
CALLS = [
    "verbatim_01_dental_site.txt", "verbatim_03_google_ads_kids_store.txt", "paraphrased_01_logistics_site.txt",
    "paraphrased_02_smm_coffee.txt", "paraphrased_04_law_firm_site.txt", "missing_01_no_payment_hotel.txt",
    "order_02_offer_first_salon.txt", "cannot_deliver_02_1c.txt", "client_forbidden_04_gym.txt",
    "forbidden_03_rude_tires.txt",
]
# Twelve other development calls: a second set, to check that a recognition change chosen on the first holds
# elsewhere (``transcribe_bench.py --set check``).
CHECK_CALLS = [
    "verbatim_02_pipedrive_wholesale.txt", "verbatim_04_seo_furniture.txt", "paraphrased_03_crm_realty.txt",
    "missing_02_no_greeting_no_farewell_shop.txt", "missing_03_no_needs_chatbot.txt",
    "missing_05_no_next_no_farewell_seo.txt", "order_01_payment_first_catalog.txt",
    "order_03_invoice_before_offer_pipedrive.txt", "cannot_deliver_01_mobile_app.txt",
    "client_forbidden_01_barbershop.txt", "unknown_02_hotel_smm_paraphrased.txt", "forbidden_04_flowers_domain.txt",
]
VERSION = 2  # bump when the calls or the way they are spoken change


def _make_audio_module():
    spec = importlib.util.spec_from_file_location("_make_audio", ROOT / "tests" / "fixtures" / "make_audio.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _turns(path: Path) -> list[dict]:
    turns = []
    for line in path.read_text(encoding="utf-8").splitlines():
        found = re.match(r"^\s*(М|К|Менеджер|Клиент)\s*:\s*(.+)$", line)
        # festival stops at a lone comma (« — » → « , ») and at quotes: what it is given is what was said
        text = re.sub(r"\s*[—–]\s*", ", ", found.group(2) if found else "").replace("«", "").replace("»", "").strip()
        if text:
            turns.append({"speaker": "manager" if found and found.group(1).startswith("М") else "client",
                          "text": text})
    return turns


def bench_calls(folder: Path | None = None, check: bool = False) -> tuple[Path, dict[str, dict]]:
    """The spoken calls (made on first use): their folder and manifest ``{file name: {duration, turns}}``;
    ``check``: the second set (``CHECK_CALLS``)."""
    from compliance.resources import cache_root

    folder = folder or cache_root() / f"{'check' if check else 'bench'}-audio-v{VERSION}"
    manifest_path = folder / "manifest.json"
    if manifest_path.exists():
        return folder, json.loads(manifest_path.read_text(encoding="utf-8"))
    if not (shutil.which("text2wave") and shutil.which("sox")):
        raise SystemExit("festival and sox are needed to speak the benchmark calls: "
                         "apt-get install festival festvox-ru sox")
    make = _make_audio_module()
    folder.mkdir(parents=True, exist_ok=True)
    manifest = {}
    with tempfile.TemporaryDirectory() as work:
        synth = make.Synth(Path(work))
        for name in CHECK_CALLS if check else CALLS:
            channels, turns = make.build_call(synth, _turns(ROOT / "tests" / "fixtures" / "calls" / name))
            target = folder / (Path(name).stem + ".stereo.ogg")
            make.encode(channels, target, "libopus", 16000, 32000)
            manifest[target.name] = {"duration": round(channels.shape[1] / make.RATE, 3), "turns": turns}
    manifest_path.write_text(json.dumps(manifest, ensure_ascii=False, indent=1), encoding="utf-8")
    return folder, manifest


if __name__ == "__main__":
    where, calls = bench_calls(check="--check" in sys.argv)
    print(f"{where}: {len(calls)} calls, {sum(c['duration'] for c in calls.values()) / 60:.1f} min")
    sys.exit(0)
