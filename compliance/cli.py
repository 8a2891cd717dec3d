"""The command line: parse options, call one core function, print its result."""
from __future__ import annotations

import json
import sys
from pathlib import Path

import click

from . import __version__
from .errors import ComplianceError, ScriptError
from .resources import default_script_path
from .result import CallResult

LEVELS = ("newcomer", "experienced")
LEVEL_WORDS = {"newcomer": "новичок", "experienced": "опытный"}
FOUND_WORDS = {"verbatim": "по скрипту", "meaning": "своими словами", "cue": "своими словами (маркер)"}
VERDICT_WORDS = {
    "below": "ниже коридора",
    "within": "в коридоре",
    "above": "выше коридора",
}


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="compliance")
def cli() -> None:
    """How closely sales calls follow the sales script.

    Example: compliance score call.txt --level newcomer
    """


def main() -> None:
    cli(prog_name="compliance")


def script_option(func):
    return click.option(
        "--script", "script_path", type=click.Path(dir_okay=False, path_type=Path), default=None,
        help="Sales script YAML (default: the bundled sales_call.ru.yaml).",
    )(func)


def level_option(func):
    return click.option(
        "--level", type=click.Choice(LEVELS), default="newcomer", show_default=True,
        help="The manager's level: sets the expected adherence band.",
    )(func)


def load_script_or_fail(path: Path | None):
    """Load a script for a command, turning problems into one ``Error:`` message."""
    from .script import load_script

    try:
        return load_script(path or default_script_path())
    except ScriptError as exc:
        raise click.ClickException(str(exc)) from None


def _mark(ok: bool) -> str:
    return click.style("✓", fg="green") if ok else click.style("✗", fg="red")


def format_result(result: CallResult) -> str:
    """The readable summary of a scored call, as ``score`` and ``analyze`` print it."""
    out: list[str] = []
    head = result.file or "call"
    who = f"менеджер {result.manager}, " if result.manager else ""
    level = LEVEL_WORDS.get(result.level, result.level)
    out.append(click.style(head, bold=True) + f"  ({who}скрипт {result.script_id}, уровень: {level})")
    for note in result.notes:
        out.append(f"  примечание: {note}")
    if not result.connected:
        out.append(f"  НЕ СОСТОЯЛСЯ: {result.not_connected_reason} — звонок не оценивается")
        return "\n".join(out)
    for stage in result.stages:
        if not stage.applies:
            state = "не применимо" if stage.required else "не звучал (необязательный)"
            out.append(f"  - {stage.id:<16} {state}")
            continue
        req = "" if stage.required else " (необязательный)"
        out.append(f"  {_mark(stage.present)} {stage.id:<16} {stage.score:5.1f}  {stage.title}{req}")
        for line in stage.lines:
            when = f" @{line.start:.1f}s" if line.start is not None else ""
            said = f" ← «{line.matched}»{when}" if line.matched else " ← не найдено"
            how = FOUND_WORDS.get(line.found.value, "")
            out.append(f"      {line.similarity:5.1f}  {line.text}{said}{f'  [{how}]' if how else ''}")
    for v in result.order_violations:
        out.append(f"  порядок: {v.message}")
    for hit in result.forbidden:
        when = f" @{hit.start:.1f}s" if hit.start is not None else ""
        out.append(f"  запрещённая фраза: «{hit.phrase}» ← «{hit.matched}»{when}")
    band = f"{result.band[0]:g}–{result.band[1]:g} %"
    verdict = VERDICT_WORDS.get(result.verdict or "", "")
    structure = f"{result.structure:.0f} %" if result.structure is not None else "—"
    if not result.meaning_checked:
        structure += " (смысл не проверен)"
    out.append(
        f"  Структура (этапы по смыслу): {structure}   Соответствие скрипту: {result.adherence:.1f} % "
        f"(формулировки)   покрытие этапов: {result.coverage:.0f} %   коридор ({level}): {band} → {verdict}"
    )
    return "\n".join(out)


def echo_results(results: list[CallResult], as_json: bool) -> None:
    """Print results as a table, or one JSON object per line (with a ``file`` field)."""
    for i, result in enumerate(results):
        if as_json:
            click.echo(json.dumps(result.model_dump(mode="json"), ensure_ascii=False))
        else:
            if i:
                click.echo()
            click.echo(format_result(result))


@cli.command()
@click.argument("transcripts", nargs=-1, required=True, type=click.Path(path_type=Path))
@script_option
@level_option
@click.option("--json", "as_json", is_flag=True, help="One JSON object per call (JSON Lines).")
def score(transcripts: tuple[Path, ...], script_path: Path | None, level: str, as_json: bool) -> None:
    """Score transcripts (.txt with М:/К: lines, or .json) against a sales script.

    Example: compliance score call.txt --script scripts_yaml/sales_call.ru.yaml --level newcomer
    """
    from .match import score_call
    from .transcript import load_transcript

    script = load_script_or_fail(script_path)
    script.band(level)
    failures = []
    results = []
    for path in transcripts:
        try:
            result = score_call(load_transcript(path), script, level)
        except ComplianceError as exc:
            failures.append(str(exc))
            click.echo(f"Error: {exc}", err=True)
            continue
        result.file = str(path)
        results.append(result)
        echo_results([result], as_json)
    if failures:
        sys.exit(1)


@cli.group()
def script() -> None:
    """Check sales scripts and print their schema."""


@script.command("check")
@click.argument("files", nargs=-1, type=click.Path(path_type=Path))
def script_check(files: tuple[Path, ...]) -> None:
    """Validate script files: one line per problem (file:line: field: message).

    With no FILE, checks the bundled default script.

    Example: compliance script check scripts_yaml/sales_call.ru.yaml
    """
    from .script import check_script_file

    bad = False
    for path in files or (default_script_path(),):
        loaded, problems = check_script_file(path)
        for problem in problems:
            click.echo(str(problem))
        if problems:
            bad = True
        else:
            n_lines = sum(len(s.lines) for s in loaded.stages)
            click.echo(f"{path}: ok ({loaded.id}: {len(loaded.stages)} stages, {n_lines} lines)")
    if bad:
        sys.exit(1)


@script.command("schema")
def script_schema_cmd() -> None:
    """Print the JSON Schema of script files (for editor autocompletion).

    Example: compliance script schema > sales-script.schema.json
    """
    from .script import script_schema

    click.echo(json.dumps(script_schema(), ensure_ascii=False, indent=2))


@script.command("phrasings")
@click.option("--db", "db", type=click.Path(dir_okay=False, path_type=Path), default=Path("compliance.db"),
              show_default=True, help="History database (SQLite).")
@click.option("--script", "script_id", default=None, help="Script id (default: every script in the history).")
@click.option("--since", type=click.DateTime(formats=["%Y-%m-%d"]), default=None, help="Only calls from this date.")
@click.option("--top", type=click.IntRange(min=1), default=5, show_default=True, help="Groups shown per line.")
@click.option("--json", "as_json", is_flag=True, help="One JSON object per script.")
def script_phrasings(db: Path, script_id: str | None, since, top: int, as_json: bool) -> None:
    """How managers really say each script line: their sentences that matched it by meaning, grouped.

    Lines nobody says in any form come first; the biggest groups are candidates for the line's examples:.

    Example: compliance script phrasings --db compliance.db --script sales_call --since 2026-11-01
    """
    from .cli_batch import open_store
    from .phrasings import mine_phrasings, stored_vectors_for
    from .script import SalesScript

    with open_store(db) as store:
        versions = store.latest_scripts()
        if script_id is not None and script_id not in versions:
            known = ", ".join(sorted(versions)) or "none"
            raise click.ClickException(f"{db}: no calls scored against script {script_id!r} (known: {known})")
        records = store.calls(since=since.date() if since else None, with_transcripts=False)
        vectors = stored_vectors_for(records, store)
    for sid in [script_id] if script_id else sorted(versions):
        mined = mine_phrasings(records, SalesScript.model_validate_json(versions[sid]),
                               since=since.date() if since else None, vectors=vectors)
        if as_json:
            click.echo(json.dumps(mined.model_dump(mode="json"), ensure_ascii=False))
            continue
        click.echo(click.style(f"{mined.script_id}: {mined.script_title}", bold=True) + f"  ({mined.calls} звонков)")
        if not mined.meaning_checked:
            click.echo("  смысл не проверен: модель смысла не загрузилась, фразы сгруппированы только по тексту")
        for line in mined.lines:
            flag = click.style("никто не говорит", fg="red") if line.never_said else \
                f"по скрипту {line.verbatim}, своими словами {line.own_words} из {line.calls}"
            click.echo(f"  [{line.stage_id}] «{line.line}» — {flag}")
            for group in line.groups[:top]:
                who = ", ".join(group.managers)
                click.echo(f"      {group.count:>3} × «{group.example}»  ({who})")
                for variant in group.variants[:2]:
                    click.echo(f"            ≈ «{variant}»")


# Commands that live in their own modules register themselves on ``cli``.
from . import cli_audio, cli_batch, cli_report  # noqa: E402,F401
