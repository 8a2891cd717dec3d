"""The command line in the run's language: help texts from the catalogue, click's own words translated.

Click renders help while it parses, so the language is chosen from the arguments and ``COMPLIANCE_LANG`` before
parsing (``LocalGroup.main``). Each command's help comes from the catalogue key ``cli.<command path>.help``
(``cli.users.add.help``); an option's from ``cli.<command path>.<option>``, else the shared ``cli.opt.<option>``
(``--db``, ``--team``, ``--json`` …). Commands are localised when click looks them up, so only the commands a run
touches are.

Click's own words ("Usage:", "Missing argument …") go through gettext in click's modules; their English msgids
are in our catalogue, and those modules' ``_``/``ngettext`` are pointed at it for the run.
"""
from __future__ import annotations

import os
import re
import sys
from typing import Any, Optional

import click

from compliance.text import catalogue

_CLICK_MODULES = ("core", "decorators", "exceptions", "formatting", "parser", "termui", "types", "utils",
                  "_termui_impl", "shell_completion")


def option_key(command_key: str, name: str) -> str:
    """The catalogue key of an option's help: its command's own, else the shared one."""
    own = f"{command_key}.{name}"
    return own if catalogue.has(own) else f"cli.opt.{name}"


def localize(command: click.Command, key: str) -> None:
    """Give ``command`` and its options their help in the run's language."""
    command._catalogue_key = key  # type: ignore[attr-defined]
    command.help = catalogue.text(f"{key}.help")
    command.short_help = catalogue.text(f"{key}.short") if catalogue.has(f"{key}.short") else None
    for param in command.params:
        if isinstance(param, click.Option) and not param.hidden and param.name:
            param.help = catalogue.text(option_key(key, param.name))
    _localize_metavars(command)
    cached = getattr(command, "_help_option", None)   # click keeps the --help option once made
    if cached is not None:
        cached.help = catalogue.text("cli.opt.help")


_METAVAR_WORD = re.compile(r"\b[A-Z][A-Z_]+(?: RANGE)?\b")


def _said_metavar(shown: str) -> str:
    """A usage placeholder (``FILE``, ``[FILES]...``, ``INTEGER RANGE``) with its words in the run's language
    (``cli.metavar.FILE`` → «ФАЙЛ»); a word the catalogue does not name stays as it is (``HOST``)."""
    def say(match: re.Match[str]) -> str:
        key = "cli.metavar." + match.group(0).replace(" ", "_")
        return catalogue.text(key) if catalogue.has(key) else match.group(0)

    return _METAVAR_WORD.sub(say, shown)


def _localize_metavars(command: click.Command) -> None:
    """The usage line's placeholders in the run's language: ``[OPTIONS]``, ``COMMAND [ARGS]...``, each argument's
    and option's. What click derives them from is kept, so a later run in another language says them again."""
    declared = command.__dict__.setdefault("_declared_metavars", {
        "options": command.options_metavar,
        "sub": getattr(command, "subcommand_metavar", None),
        "params": {id(p): p.metavar for p in command.params}})
    command.options_metavar = _said_metavar(declared["options"]) if declared["options"] else declared["options"]
    if isinstance(command, click.Group) and declared["sub"]:
        command.subcommand_metavar = _said_metavar(declared["sub"])
    ctx = click.Context(command)
    for param in command.params:
        if isinstance(param, click.Option) and (param.is_flag or param.count or param.hidden):
            continue
        param.metavar = declared["params"].get(id(param))
        param.metavar = _said_metavar(param.make_metavar(ctx))


def speak_click(lang: str) -> None:
    """Point click's gettext calls at our catalogue in ``lang`` (its English msgids are our keys there)."""
    tr = catalogue.translations(lang)
    for name in _CLICK_MODULES:
        module = sys.modules.get(f"click.{name}")
        if module is None:
            continue
        if hasattr(module, "_"):
            module._ = tr.gettext  # type: ignore[attr-defined]
        if hasattr(module, "ngettext"):
            module.ngettext = tr.ngettext  # type: ignore[attr-defined]


def set_language(args: list[str]) -> str:
    """Choose the run's language from its arguments and the environment, and make the CLI speak it."""
    lang = catalogue.choose_language(args, os.environ)
    catalogue.use(lang)
    speak_click(lang)
    return lang


def current_language() -> str:
    """The default of a command's own ``--lang`` (reports, pages, notes): the run's language."""
    return catalogue.current()


class LocalGroup(click.Group):
    """A command group whose help, and its commands' help, speak the run's language."""

    group_class = type  # subgroups are LocalGroups too

    def main(self, args: Optional[Any] = None, prog_name: Optional[str] = None,  # type: ignore[override]
             **extra: Any) -> Any:
        argv = list(sys.argv[1:] if args is None else args)
        set_language(argv)
        localize(self, "cli")
        try:
            return super().main(args=argv, prog_name=prog_name, **extra)
        finally:   # the next run in this process (tests, a caller) chooses again
            catalogue.use(None)
            speak_click(catalogue.current())

    def get_command(self, ctx: click.Context, cmd_name: str) -> Optional[click.Command]:
        command = super().get_command(ctx, cmd_name)
        if command is not None:
            localize(command, f"{getattr(self, '_catalogue_key', 'cli')}.{cmd_name}")
        return command
