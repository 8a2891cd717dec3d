"""The command group itself: `compliance --help`, `--version`, `--lang`; the commands register on it."""
from __future__ import annotations

from typing import Any

import click

from compliance import __version__

from .localize import LocalGroup


def _show_version(ctx: click.Context, param: Any, value: bool) -> None:
    if value and not ctx.resilient_parsing:
        from compliance.text.catalogue import text

        click.echo(text("cli.version_line", version=__version__))
        ctx.exit()


@click.group(cls=LocalGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.option("--version", is_flag=True, expose_value=False, is_eager=True, callback=_show_version)
@click.option("--lang", type=click.Choice(["ru", "en"]), envvar="COMPLIANCE_LANG", default="ru",
              show_default=True)
def cli(lang: str) -> None:
    """The group; its help is the catalogue's ``cli.help`` (the language was chosen before parsing)."""


def main() -> None:
    cli(prog_name="compliance")
