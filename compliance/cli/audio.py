"""Commands: transcribe and analyze recordings (registered on the main group)."""
from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Any, Optional

import click

from compliance.cli.app import cli
from compliance.cli.options import (
    echo_results,
    level_option,
    load_script_or_fail,
    load_team_or_fail,
    resolve_team_path,
    script_option,
    team_option,
)
from compliance.errors import ComplianceError, ModelError
from compliance.files import write_atomic
from compliance.text.catalogue import text


def transcribe_options(func):
    """The recognition options shared by ``transcribe`` and ``analyze``."""
    options = [
        click.option("--model", default="base", show_default=True),
        click.option("--device", type=click.Choice(["auto", "cpu", "cuda"]), default="auto", show_default=True),
        click.option("--compute-type", default="auto", show_default=True),
        click.option("--threads", type=click.IntRange(min=0), default=0, show_default=True),
        click.option("--language", default=None),
        click.option("--manager-channel", type=click.Choice(["auto", "left", "right"]), default="auto",
                     show_default=True),
        click.option("--cache-dir", type=click.Path(file_okay=False, path_type=Path), default=None),
    ]
    for option in reversed(options):
        func = option(func)
    return func


def _options(script, kwargs: dict[str, Any]):
    from compliance.speech.transcribe import TranscribeOptions

    language = kwargs["language"] if kwargs["language"] is not None else script.language
    return TranscribeOptions(model=kwargs["model"], device=kwargs["device"], compute_type=kwargs["compute_type"],
                             threads=kwargs["threads"], language=language,
                             manager_channel=kwargs["manager_channel"])


def _transcribe_each(recordings: tuple[Path, ...], script, kwargs: dict[str, Any]):
    """Yield (path, transcript or None); a bad file is reported and skipped, a missing model stops all."""
    from compliance.speech.transcribe import transcribe_file

    options = _options(script, kwargs)
    for path in recordings:
        if sys.stderr.isatty():
            click.echo(text("cli.audio.recognising", path=path), err=True)
        try:
            yield path, transcribe_file(path, options, cache_dir=kwargs["cache_dir"], script=script)
        except ModelError as exc:
            raise click.ClickException(str(exc)) from None
        except ComplianceError as exc:
            click.echo(text("cli.error", message=exc), err=True)
            yield path, None


def _out_names(recordings: tuple[Path, ...]) -> dict[Path, str]:
    """RECORDING.json; call.ogg.json and call.mp3.json when stems clash; a number when names clash too."""
    stems = [p.stem for p in recordings]
    names: dict[Path, str] = {}
    taken: set[str] = set()
    for p in dict.fromkeys(recordings):
        base = p.stem if stems.count(p.stem) == 1 else p.name
        name, n = base + ".json", 1
        while name in taken:
            n += 1
            name = f"{base}-{n}.json"
        taken.add(name)
        names[p] = name
    return names


@cli.command()
@click.argument("recordings", nargs=-1, required=True, type=click.Path(path_type=Path))
@click.option("-o", "--out", "out_dir", type=click.Path(file_okay=False, path_type=Path), default=Path("."),
              show_default=True)
@script_option
@transcribe_options
def transcribe(recordings: tuple[Path, ...], out_dir: Path, script_path: Optional[Path], **kwargs: Any) -> None:
    """Transcribe recordings to JSON: turns with speakers, word timestamps and confidences.

    Stereo recordings are two parties (one per channel); the manager's channel is chosen with the
    script unless --manager-channel is given. Mono recordings are split into their two parties by
    voice, the manager's chosen by the script. The JSON is what `compliance score` reads.

    Example: compliance transcribe samples/call_full_script.ogg -o transcripts
    """
    script = load_script_or_fail(script_path)
    names = _out_names(recordings)
    failed = False
    for path, transcript in _transcribe_each(recordings, script, kwargs):
        if transcript is None:
            failed = True
            continue
        try:
            out_dir.mkdir(parents=True, exist_ok=True)
            target = out_dir / names[path]
            write_atomic(target, transcript.model_dump_json(indent=1))
        except OSError as exc:
            raise click.ClickException(text("cli.audio.cannot_write", folder=out_dir, why=exc.strerror)) from None
        channel = transcript.manager_channel
        side = text(f"cli.audio.{channel}") if channel in ("left", "right") else ""
        click.echo(text("cli.audio.written", path=path, target=target, turns=len(transcript.segments),
                        seconds=transcript.duration or 0, side=side))
        for note in transcript.notes:
            click.echo(text("cli.audio.note", note=note))
    if failed:
        sys.exit(1)


def _analyse_all(audio: list[Path], script, level: str, options, cache_dir: Optional[Path], match,
                 workers: Optional[int], bands: Optional[dict] = None):
    """Yield (path, result or None, error) for each recording in order: several as the batch analyses them (one
    model, threads around it), one right here; a model that does not load stops everything."""
    from compliance.pipeline import analyse_file
    from compliance.scoring.embeddings import load_embedder_in_background
    from compliance.scoring.result import CallResult
    from compliance.scoring.semantic import warm_prototypes

    done: list[Path] = []
    if len(set(audio)) > 1 and (workers or os.cpu_count() or 1) > 1:
        from compliance.batch.workers import analyse_in_pool

        try:
            for path, outcome in analyse_in_pool(audio, script, level, options, cache_dir, match, workers, bands):
                done.append(path)
                result = CallResult.model_validate_json(outcome.result_json) if outcome.ok else None
                yield path, result, outcome.error
        except ModelError as exc:
            raise click.ClickException(str(exc)) from None
    left = audio[len(done):]
    if left:  # the meaning model loads on a thread while Whisper loads here
        load_embedder_in_background(lambda embedder: warm_prototypes([script], embedder))
    for path in left:
        if sys.stderr.isatty():
            click.echo(text("cli.audio.recognising", path=path), err=True)
        try:
            analysis = analyse_file(path, [script], level, kind="audio", transcribe=options, cache_dir=cache_dir,
                                    match=match, bands=bands)
        except ModelError as exc:
            raise click.ClickException(str(exc)) from None
        except ComplianceError as exc:
            yield path, None, str(exc)
            continue
        yield path, analysis.result, ""


def _from_roster(ctx: click.Context, roster, level: str, manager: Optional[str], kwargs: dict[str, Any]):
    """What the roster (``--team``, else ./team.yaml) says, as ``batch`` takes it: the manager's level unless
    ``--level`` is given, the team's bands for them, the team's model unless ``--model`` is given; the manager as
    the roster keys them.

    Returns:
        (level, the team's bands or None, manager)
    """
    if roster is None:
        return level, None, manager
    member = roster.get(manager) if manager else None
    if member is not None:
        manager = member.id
        if ctx.get_parameter_source("level") is click.core.ParameterSource.DEFAULT:
            level = member.level_on(None)
    if roster.model and ctx.get_parameter_source("model") is click.core.ParameterSource.DEFAULT:
        kwargs["model"] = roster.model_folder()
    return level, roster.targets_for(manager).model_dump()["bands"] or None, manager


@cli.command()
@click.argument("recordings", nargs=-1, required=True, type=click.Path(path_type=Path))
@script_option
@level_option
@team_option
@click.option("--manager", "manager", default=None)
@click.option("--min-talk", type=click.FloatRange(min=0), default=None)
@click.option("--json", "as_json", is_flag=True)
@click.option("--workers", type=click.IntRange(min=1), default=None)
@transcribe_options
@click.pass_context
def analyze(ctx: click.Context, recordings: tuple[Path, ...], script_path: Optional[Path], level: str,
            team_path: Optional[Path], manager: Optional[str], min_talk: Optional[float], as_json: bool,
            workers: Optional[int], **kwargs: Any) -> None:
    """Transcribe recordings and score them against a sales script (as `score` does for transcripts).

    A recording with no speech, only one party, or too little two-party speech is reported as not
    connected and not scored. Transcripts are cached: re-analysing after a script edit is instant.

    Example: compliance analyze samples/*.ogg samples/*.mp3 --level newcomer
    """
    from compliance.pipeline import TRANSCRIPT_SUFFIXES
    from compliance.scoring.score import MatchOptions

    script = load_script_or_fail(script_path)
    roster = load_team_or_fail(resolve_team_path(team_path))
    level, bands, manager = _from_roster(ctx, roster, level, manager, kwargs)
    script.band(level, bands=bands)
    match_options = MatchOptions() if min_talk is None else MatchOptions(min_two_party_speech=min_talk)
    options = _options(script, kwargs)
    failed = False
    audio = [p for p in recordings if p.suffix.lower() not in TRANSCRIPT_SUFFIXES]
    outcomes = _analyse_all(audio, script, level, options, kwargs["cache_dir"], match_options, workers, bands)
    for path in recordings:
        if path.suffix.lower() in TRANSCRIPT_SUFFIXES:
            click.echo(text("cli.error", message=text("cli.analyze.transcript", path=path)), err=True)
            failed = True
            continue
        _, result, error = next(outcomes)
        if result is None:
            click.echo(text("cli.error", message=error), err=True)
            failed = True
            continue
        result.file = str(path)
        result.manager = manager
        echo_results([result], as_json)
    if failed:
        sys.exit(1)
