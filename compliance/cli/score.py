"""`compliance score`: transcripts against a script."""
from __future__ import annotations

import sys
from pathlib import Path

import click

from compliance.errors import ComplianceError
from compliance.files import shown_path
from compliance.pipeline import TRANSCRIPT_SUFFIXES

from .app import cli
from .options import echo_results, level_option, load_script_or_fail, script_option


def _audio_suffixes() -> frozenset[str]:
    from compliance.speech.decode import AUDIO_EXTENSIONS

    return frozenset(AUDIO_EXTENSIONS)


@cli.command()
@click.argument("transcripts", nargs=-1, required=True, type=click.Path(path_type=Path))
@script_option
@level_option
@click.option("--json", "as_json", is_flag=True, help="One JSON object per call (JSON Lines).")
def score(transcripts: tuple[Path, ...], script_path: Path | None, level: str, as_json: bool) -> None:
    """Score transcripts (.txt with М:/К: lines, or .json) against a sales script.

    Example: compliance score call.txt --script scripts_yaml/sales_call.ru.yaml --level newcomer
    """
    from compliance.scoring.score import score_call
    from compliance.scoring.transcript import load_transcript

    script = load_script_or_fail(script_path)
    script.band(level)
    failures = []
    results = []
    for path in transcripts:
        if path.suffix.lower() not in TRANSCRIPT_SUFFIXES and path.suffix.lower() in _audio_suffixes():
            failures.append(str(path))
            click.echo(f"Error: {path}: a recording, not a transcript; run `compliance analyze {path}`", err=True)
            continue
        try:
            result = score_call(load_transcript(path), script, level)
        except ComplianceError as exc:
            failures.append(str(exc))
            click.echo(f"Error: {exc}", err=True)
            continue
        result.file = shown_path(path)
        results.append(result)
        echo_results([result], as_json)
    if failures:
        sys.exit(1)
