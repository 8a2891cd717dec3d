"""The command group itself: `compliance --help`, `--version`; the commands register on it."""
from __future__ import annotations

import click

from compliance import __version__


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="compliance")
def cli() -> None:
    """How closely sales calls follow the sales script.

    Example: compliance score call.txt --level newcomer
    """


def main() -> None:
    cli(prog_name="compliance")
