"""`compliance script`: check scripts, print their schema, mine how managers really say each line."""
from __future__ import annotations

import json
import sys
from pathlib import Path

import click

from compliance.resources import default_script_path

from .app import cli
from .options import DAY, db_option


@cli.group()
def script() -> None:
    """Check sales scripts and print their schema."""


EXIT_WOULD_ORPHAN = 4  # the script is valid, but scoring with it would orphan decisions stored in --db


@script.command("check")
@click.argument("files", nargs=-1, type=click.Path(path_type=Path))
@click.option("--db", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="Also warn when the script would orphan the lead's decisions stored in this history "
                   f"(exit {EXIT_WOULD_ORPHAN}).")
def script_check(files: tuple[Path, ...], db: Path | None) -> None:
    """Validate script files: one line per problem (file:line: field: message).

    With no FILE, checks the bundled default script. A team examples file (*.examples.yaml) is checked against
    the script beside it. With --db, an edit that would leave a stored decision of the lead without its stage or
    line (a line removed, or its text changed with no id:) is listed, with what to do, and the command exits with 4.

    Example: compliance script check scripts_yaml/*.yaml --db compliance.db
    """
    from compliance.scoring.examples import check_examples_file, script_of_examples
    from compliance.scoring.script import check_script_file

    bad = orphans = False
    listed = {Path(f).resolve() for f in files}
    for path in files or (default_script_path(),):
        script_path = script_of_examples(path)
        if script_path is not None:
            count, problems = check_examples_file(path)
            bad = bad or bool(problems)
            if not problems:
                click.echo(f"{path}: ok (team examples of {script_path.name}: {count} "
                           f"{'sentence' if count == 1 else 'sentences'})")
            elif script_path.resolve() not in listed:   # else the script's check has just listed them
                for problem in problems:
                    click.echo(str(problem))
            continue
        loaded, problems = check_script_file(path)
        for problem in problems:
            click.echo(str(problem))
        if problems:
            bad = True
        elif loaded is not None:
            n_lines = sum(len(s.lines) for s in loaded.stages)
            click.echo(f"{path}: ok ({loaded.id}: {len(loaded.stages)} stages, {n_lines} lines)")
            orphans = (db is not None and _warn_orphans(path, loaded, db)) or orphans
    if bad:
        sys.exit(1)
    if orphans:
        sys.exit(EXIT_WOULD_ORPHAN)


def _warn_orphans(path: Path, loaded, db: Path) -> bool:
    """Print the stored decisions this script would orphan; whether there are any."""
    from compliance.cli.options import open_store
    from compliance.history.decisions import decisions_at_risk

    with open_store(db) as store:
        risky = decisions_at_risk(store.connection, loaded.id, loaded.line_ids())
    for item in risky:
        d = item.decision
        fix = (f"give the line that replaces it `id: {d.line_id}`, or keep its text" if d.line_id
               else f"keep the stage id {d.stage_id!r}")
        click.echo(f"{path}: warning: the lead's decision on {d.where} ({d.by}, {d.at}; call {item.file}) would "
                   f"no longer apply: {fix}")
    return bool(risky)


@script.command("schema")
def script_schema_cmd() -> None:
    """Print the JSON Schema of script files (for editor autocompletion).

    Example: compliance script schema > sales-script.schema.json
    """
    from compliance.scoring.script import script_schema

    click.echo(json.dumps(script_schema(), ensure_ascii=False, indent=2))


@script.command("phrasings")
@db_option
@click.option("--script", "script_id", default=None, help="Script id (default: every script in the history).")
@click.option("--since", type=DAY, default=None, help="Only calls from this date.")
@click.option("--top", type=click.IntRange(min=1), default=5, show_default=True, help="Groups shown per line.")
@click.option("--json", "as_json", is_flag=True, help="One JSON object per script.")
def script_phrasings(db: Path, script_id: str | None, since, top: int, as_json: bool) -> None:
    """How managers really say each script line: their sentences that matched it by meaning, grouped.

    Lines nobody says in any form come first; the biggest groups are candidates for the line's examples:.

    Example: compliance script phrasings --db compliance.db --script sales_call --since 2026-11-01
    """
    from compliance.cli.options import open_store  # noqa: I001
    from compliance.history.phrasings import mine_phrasings, stored_vectors_for
    from compliance.scoring.script import SalesScript

    with open_store(db) as store:
        versions = store.latest_scripts()
        if script_id is not None and script_id not in versions:
            known = ", ".join(sorted(versions)) or "none"
            raise click.ClickException(f"{db}: no calls scored against script {script_id!r} (known: {known})")
        records = store.calls(since=since.date() if since else None, with_transcripts=False)
        vectors = stored_vectors_for(records, store)
        store_ids = {r.result.script_hash: store.script_line_ids(r.result.script_hash) for r in records}
    for sid in [script_id] if script_id else sorted(versions):
        mined = mine_phrasings(records, SalesScript.model_validate_json(versions[sid]),
                               since=since.date() if since else None, vectors=vectors,
                               versions=store_ids.get)
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
