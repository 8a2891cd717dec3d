"""The catalogues pass what ``msgfmt -c`` checks (issue 23), read with Babel so CI needs nothing new: a text
begins and ends with a line break exactly when its msgid does, and a plural form that serves more than one count
names every field of the plural msgid (Russian's first form serves 1, 21, 31…). Where GNU gettext is installed,
``msgfmt -c`` itself must pass too."""
from __future__ import annotations

import gettext
import re
import shutil
import subprocess

import pytest
from babel.messages.pofile import read_po

from compliance.text import catalogue

FIELD = re.compile(r"\{(\w+)[^{}]*\}")


def _catalog(lang: str):
    with catalogue.po_path(lang).open("rb") as fh:
        return read_po(fh, locale=lang)


def _forms_serving_several_counts(plural_expr: str, n_forms: int) -> set[int]:
    choose = gettext.c2py(plural_expr)
    counts: dict[int, int] = {}
    for n in range(0, 1000):
        counts[choose(n)] = counts.get(choose(n), 0) + 1
    return {form for form in range(n_forms) if counts.get(form, 0) > 1}


def catalogue_problems(lang: str) -> list[str]:
    """What ``msgfmt -c`` would refuse in ``lang``'s catalogue, one line each (empty: none)."""
    cat = _catalog(lang)
    several = _forms_serving_several_counts(cat.plural_expr, cat.num_plurals)
    problems = []
    for message in cat:
        if not message.id:
            continue
        ids = message.id if isinstance(message.id, tuple) else (message.id,)
        texts = message.string if isinstance(message.string, tuple) else (message.string,)
        for text in texts:
            for edge, test in (("begin", str.startswith), ("end", str.endswith)):
                if test(ids[0], "\n") != test(text, "\n"):
                    problems.append(f"{ids[0]!r}: msgid and msgstr do not both {edge} with a line break")
        if len(ids) > 1 and FIELD.search(ids[1]):    # click's own plural texts: fields of the English words
            wanted = set(FIELD.findall(ids[1]))
            for form in sorted(several):
                missing = wanted - set(FIELD.findall(texts[form]))
                if missing:
                    problems.append(f"{ids[0]!r}: msgstr[{form}] serves several counts but lacks {sorted(missing)}")
    return problems


@pytest.mark.parametrize("lang", catalogue.LANGUAGES)
def test_the_catalogue_passes_the_checks_of_msgfmt(lang):
    assert catalogue_problems(lang) == []


def test_the_check_finds_what_msgfmt_finds(tmp_path, monkeypatch):
    """The check is not empty: the two faults msgfmt once reported are found when put back."""
    po = catalogue.po_path("ru").read_text(encoding="utf-8")
    broken = po.replace('msgid "cli.batch.interrupted"\nmsgstr ""\n"Прервано.',
                        'msgid "cli.batch.interrupted"\nmsgstr ""\n"\\n"\n"Прервано.', 1)
    broken = broken.replace('msgstr[0] "Возможно, вы имели в виду {possibilities}?"',
                            'msgstr[0] "Возможно, вы имели в виду {possibility}?"', 1)
    assert broken != po
    path = tmp_path / "ru" / "LC_MESSAGES" / "compliance.po"
    path.parent.mkdir(parents=True)
    path.write_text(broken, encoding="utf-8")
    monkeypatch.setattr(catalogue, "LOCALE_DIR", tmp_path)
    found = catalogue_problems("ru")
    assert any("cli.batch.interrupted" in p and "begin" in p for p in found), found
    assert any("Did you mean" in p and "possibilities" in p for p in found), found


@pytest.mark.skipif(shutil.which("msgfmt") is None, reason="GNU gettext's msgfmt is not installed here")
@pytest.mark.parametrize("lang", catalogue.LANGUAGES)
def test_msgfmt_itself_accepts_the_catalogue(lang, tmp_path):
    run = subprocess.run(["msgfmt", "-c", "-o", str(tmp_path / "out.mo"), str(catalogue.po_path(lang))],
                         capture_output=True, text=True)
    assert run.returncode == 0, run.stderr
