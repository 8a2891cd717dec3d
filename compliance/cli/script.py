"""`compliance script`: check scripts, print their schema, mine how managers really say each line."""
from __future__ import annotations

import json
import sys
from pathlib import Path

import click

from compliance.resources import default_script_path
from compliance.text.catalogue import plural, text

from .app import cli
from .options import DAY, db_option


@cli.group()
def script() -> None:
    """Check sales scripts and print their schema."""


EXIT_WOULD_ORPHAN = 4  # the script is valid, but scoring with it would orphan decisions stored in --db


@script.command("check")
@click.argument("files", nargs=-1, type=click.Path(path_type=Path))
@click.option("--db", type=click.Path(dir_okay=False, path_type=Path), default=None)
def script_check(files: tuple[Path, ...], db: Path | None) -> None:
    """Validate script files: one line per problem (file:line: field: message).

    With no FILE, checks the bundled default script. A team examples file (*.examples.yaml) is checked against
    the script beside it. With --db, an edit that would leave a stored decision of the lead without its stage or
    line (a line removed, or its text changed with no id:) is listed, with what to do, and the command exits with 4.

    Example: compliance script check scripts_yaml/*.yaml --db compliance.db
    """
    from compliance.scoring.examples import script_of_examples
    from compliance.scoring.script_file import check_examples_file, check_script_file

    bad = orphans = False
    listed = {Path(f).resolve() for f in files}
    for path in files or (default_script_path(),):
        script_path = script_of_examples(path)
        if script_path is not None:
            count, problems = check_examples_file(path)
            bad = bad or bool(problems)
            if not problems:
                click.echo(plural("cli.script.examples_ok", count, path=path, script=script_path.name))
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
            click.echo(text("cli.script.ok", path=path, id=loaded.id, stages=len(loaded.stages), lines=n_lines))
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
        fix = (text("cli.script.fix_line", line_id=d.line_id) if d.line_id
               else text("cli.script.fix_stage", stage_id=d.stage_id))
        click.echo(text("cli.script.orphan", path=path, where=d.where, by=d.by, at=d.at, file=item.file, fix=fix))
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
@click.option("--script", "script_id", default=None)
@click.option("--since", type=DAY, default=None)
@click.option("--top", type=click.IntRange(min=1), default=5, show_default=True)
@click.option("--json", "as_json", is_flag=True)
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
            known = ", ".join(sorted(versions)) or text("cli.script.none")
            raise click.ClickException(text("cli.script.unknown", db=db, script_id=script_id, known=known))
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
        click.echo(click.style(f"{mined.script_id}: {mined.script_title}", bold=True)
                   + text("cli.script.phrasings.calls", n=mined.calls))
        if not mined.meaning_checked:
            click.echo(text("cli.script.phrasings.unchecked"))
        for line in mined.lines:
            flag = click.style(text("cli.script.phrasings.never"), fg="red") if line.never_said else \
                text("cli.script.phrasings.counts", verbatim=line.verbatim, own=line.own_words, calls=line.calls)
            click.echo(f"  [{line.stage_id}] «{line.line}» — {flag}")
            for group in line.groups[:top]:
                who = ", ".join(group.managers)
                click.echo(f"      {group.count:>3} × «{group.example}»  ({who})")
                for variant in group.variants[:2]:
                    click.echo(f"            ≈ «{variant}»")
