"""The blind set's harness: one folder per script, words only vs with meaning, the issue's targets.

The blind set (``tests/fixtures/calls_blind``) was written by people who never saw the matcher, its cues or
thresholds; it is measured, never tuned on. ``benchmarks/accuracy_report.py --blind`` prints this report.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from accuracy import (
    FIXTURES,
    Confusion,
    LabelledCall,
    Scorer,
    load_labelled_calls,
    predicted_presence,
)

from compliance.scoring.result import CallResult
from compliance.scoring.script import SalesScript
from compliance.scoring.script_file import load_script
from compliance.scoring.transcript import Transcript

BLIND_DIR = FIXTURES / "calls_blind"


def score_words_only(transcript: Transcript, script: SalesScript, level: str = "newcomer") -> CallResult:
    """The matcher without the meaning scorer: the comparison the blind report prints beside the full one."""
    from compliance.scoring.score import MatchOptions, score_call

    return score_call(transcript, script, level, MatchOptions(meaning=False))


def load_blind_sets(root: Path = BLIND_DIR) -> list[tuple[SalesScript, list[LabelledCall]]]:
    """Each folder of the blind set with its script (``scripts_yaml/<folder>.ru.yaml``) and its calls."""
    from compliance.resources import resource_dir

    if not root.is_dir():
        raise FileNotFoundError(f"{root}: no such folder of labelled calls")
    folders = [root] if (root / "labels.yaml").is_file() else \
        sorted(p for p in root.iterdir() if (p / "labels.yaml").is_file())
    if not folders:
        raise FileNotFoundError(f"{root}: no labels.yaml in it or in its folders (one folder per script)")
    sets = []
    for folder in folders:
        named = resource_dir("scripts_yaml") / f"{folder.name}.ru.yaml"
        # A folder named after a bundled script is scored against it; a flat set, against the default script.
        script = load_script(named if named.is_file() else resource_dir("scripts_yaml") / "sales_call.ru.yaml")
        sets.append((script, load_labelled_calls(folder)))
    return sets


@dataclass
class BlindScores:
    """What one scorer got right on the blind set."""

    presence: Confusion = field(default_factory=Confusion)
    by_label: dict[str, list[int]] = field(default_factory=dict)   # label → [called present, called absent]
    verdicts: list[tuple[str, bool, bool]] = field(default_factory=list)  # newcomer: name, lead says meets, we say
    connected: list[tuple[str, bool, bool]] = field(default_factory=list)
    own_words_full: list[tuple[str, float, float]] = field(default_factory=list)  # name, adherence, coverage
    per_script: dict[str, Confusion] = field(default_factory=dict)
    per_stage: dict[str, Confusion] = field(default_factory=dict)  # "script/stage" → confusion
    disagreements: list[tuple[str, str, str, str]] = field(default_factory=list)  # file, stage, label, ours
    crashed: list[str] = field(default_factory=list)  # calls the scorer failed on
    errors: list[str] = field(default_factory=list)

    def found(self, label: str) -> float:
        present, absent = self.by_label.get(label, [0, 0])
        return present / (present + absent) if present + absent else 0.0

    @property
    def absent_called_absent(self) -> float:
        present, absent = self.by_label.get("absent", [0, 0])
        return absent / (present + absent) if present + absent else 1.0

    @property
    def verdict_agreement(self) -> float:
        return sum(a == b for _, a, b in self.verdicts) / len(self.verdicts) if self.verdicts else 0.0


def score_blind(sets: list[tuple[SalesScript, list[LabelledCall]]], score: Scorer) -> BlindScores:
    """Score every blind call at its labelled level and count agreements with the labels."""
    out = BlindScores()
    for script, calls in sets:
        stage_ids = [s.id for s in script.stages]
        conf = out.per_script.setdefault(script.id, Confusion())
        for call in calls:
            try:
                result = score(call.transcript, script, call.level)
            except Exception as exc:  # noqa: BLE001 - reported, not fatal
                out.errors.append(f"{call.name}: {type(exc).__name__}: {exc}")
                out.crashed.append(out.errors[-1])
                continue
            out.connected.append((call.name, call.connected, result.connected))
            if not call.connected:
                continue
            said = predicted_presence(result, stage_ids)
            for sid in stage_ids:
                truth = call.present(sid)
                out.presence.add(truth, said[sid])
                conf.add(truth, said[sid])
                out.per_stage.setdefault(f"{script.id}/{sid}", Confusion()).add(truth, said[sid])
                counts = out.by_label.setdefault(call.stages[sid], [0, 0])
                counts[0 if said[sid] else 1] += 1
                if said[sid] != truth:
                    out.disagreements.append((f"{script.id}/{call.name}", sid, call.stages[sid],
                                              "present" if said[sid] else "absent"))
                    out.errors.append(f"{script.id}/{call.name}: {sid} labelled {call.stages[sid]}, "
                                      f"called {'present' if said[sid] else 'absent'}")
            if call.level == "newcomer" and call.newcomer_meets_band is not None:
                out.verdicts.append((call.name, bool(call.newcomer_meets_band), result.verdict in ("within", "above")))
            required = [s.id for s in script.stages if s.required]
            if call.level == "experienced" and all(call.stages[s] == "paraphrased" for s in required):
                out.own_words_full.append((call.name, result.adherence or 0.0, result.coverage or 0.0))
    return out


def format_blind(runs: dict[str, BlindScores]) -> str:
    """The blind report: confusion tables (by label and in total), the issue's targets, per scorer."""
    lines = []
    for name, b in runs.items():
        c = b.presence
        lines += [f"== {name}",
                  "Stage presence by label (stages of connected calls):",
                  "  label         called present  called absent   share called present",]
        for label in ("verbatim", "paraphrased", "absent"):
            present, absent = b.by_label.get(label, [0, 0])
            lines.append(f"  {label:<13} {present:>14} {absent:>14}   {present / max(present + absent, 1):.3f}")
        lines += [f"  TP {c.tp}  FP {c.fp}  FN {c.fn}  TN {c.tn}   precision {c.precision:.3f}  recall {c.recall:.3f}"
                  f"  F1 {c.f1:.3f}",
                  f"  own words found {b.found('paraphrased'):.3f}   absent called absent {b.absent_called_absent:.3f}"]
        for sid, conf in b.per_script.items():
            lines.append(f"  {sid:<18} TP {conf.tp:>3} FP {conf.fp:>3} FN {conf.fn:>3} TN {conf.tn:>3}  F1 {conf.f1:.3f}")
        lines.append("  Per stage (truth present/absent × called present/absent):")
        lines.append(f"  {'stage':<34} {'TP':>4} {'FP':>4} {'FN':>4} {'TN':>4}  precision  recall  F1")
        for sid, conf in b.per_stage.items():
            lines.append(f"  {sid:<34} {conf.tp:>4} {conf.fp:>4} {conf.fn:>4} {conf.tn:>4}  {conf.precision:9.3f}"
                         f"  {conf.recall:6.3f}  {conf.f1:.3f}")
        agree = sum(a == p for _, a, p in b.connected)
        lines.append(f"  connected agrees with the label: {agree}/{len(b.connected)}")
        lines += [f"    disagree: {call}: label {'connected' if truth else 'not connected'}, ours "
                  f"{'connected' if ours else 'not connected'}" for call, truth, ours in b.connected if truth != ours]
        lines.append(f"  newcomer verdict agreement (meets band = within/above): "
                     f"{sum(a == p for _, a, p in b.verdicts)}/{len(b.verdicts)} = {b.verdict_agreement:.3f}"
                     if b.verdicts else "  newcomer verdict agreement: no newcomer call has newcomer_meets_band")
        for call, lead, ours in b.verdicts:
            if lead != ours:
                lines.append(f"    disagree: {call}: lead says {'meets' if lead else 'below'}, "
                             f"we say {'meets' if ours else 'below'}")
        if b.own_words_full:
            values = [a for _, a, _ in b.own_words_full]
            lines.append(f"  experienced, every required stage in own words: {len(values)} calls, adherence "
                         f"mean {sum(values) / len(values):.1f}, range {min(values):.1f}–{max(values):.1f}, "
                         f"coverage 100 in {sum(cov == 100 for *_, cov in b.own_words_full)}")
        lines.append("  stage disagreements (file, stage, label, ours):")
        lines += [f"    {f}  {sid}  label {label}  ours {ours}" for f, sid, label, ours in b.disagreements] \
            or ["    none"]
        if b.crashed:
            lines.append("  calls that could not be scored:")
            lines += [f"    {e}" for e in b.crashed]
        lines.append("")
    return "\n".join(lines)
