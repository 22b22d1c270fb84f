"""The German and French catalogues are complete, well-formed and in step with the code.

Each failure names the msgids to fix. After code changes, ``make messages`` (scripts/translations.py
update) refreshes both catalogues and lists what needs translating.
"""

from __future__ import annotations

import ast
import os
import re
import shutil
from pathlib import Path
from types import ModuleType

import polib
import pytest

ROOT = Path(__file__).resolve().parents[2]
LANGUAGES = ("de", "fr")
Key = tuple[str, str, str]  # (msgctxt, msgid, msgid_plural)


def _key(entry: polib.POEntry) -> Key:
    return (entry.msgctxt or "", entry.msgid, entry.msgid_plural or "")


def _catalogue(language: str) -> polib.POFile:
    return polib.pofile(str(ROOT / "locale" / language / "LC_MESSAGES" / "django.po"))


def _live(catalogue: polib.POFile) -> dict[Key, polib.POEntry]:
    return {_key(e): e for e in catalogue if not e.obsolete}


def test_settings_offer_english_german_and_french(settings) -> None:
    assert [code for code, _name in settings.LANGUAGES] == ["en", *LANGUAGES]
    assert settings.LANGUAGE_CODE.startswith("en")  # what a browser that asks for nothing gets


@pytest.mark.parametrize("language", LANGUAGES)
def test_the_catalogue_header_is_right(language: str) -> None:
    catalogue = _catalogue(language)
    assert catalogue.metadata["Language"] == language
    assert not catalogue.metadata_is_fuzzy  # a fuzzy header makes gettext ignore the plural rule
    plural = {"de": "nplurals=2; plural=(n != 1);", "fr": "nplurals=2; plural=(n > 1);"}
    assert catalogue.metadata["Plural-Forms"] == plural[language]


def test_every_msgid_has_a_finished_translation(translations: ModuleType) -> None:
    missing = translations.findings()
    assert missing == [], (
        f"{len(missing)} msgid(s) without a finished translation (translate them, remove the fuzzy "
        "flag when right, then `make install`):\n" + "\n".join(map(str, missing))
    )


def test_the_check_reports_empty_and_fuzzy_entries(translations: ModuleType, tmp_path: Path) -> None:
    """Positive control for the test above, on a catalogue made for it."""
    po = polib.POFile()
    po.metadata = {"Content-Type": "text/plain; charset=UTF-8", "Language": "de"}
    po.append(polib.POEntry(msgid="Done", msgstr="Erledigt"))
    po.append(polib.POEntry(msgid="Empty", msgstr=""))
    po.append(polib.POEntry(msgid="Guessed", msgstr="Geraten", flags=["fuzzy"]))
    po.append(polib.POEntry(msgid="%(n)d item", msgid_plural="%(n)d items", msgstr_plural={0: "x", 1: ""}))
    po.append(polib.POEntry(msgid="Gone", msgstr="", obsolete=True))
    (tmp_path / "de" / "LC_MESSAGES").mkdir(parents=True)
    po.save(str(tmp_path / "de" / "LC_MESSAGES" / "django.po"))
    found = [(f.msgid, f.problem) for f in translations.findings(tmp_path)]
    assert found == [("Empty", "untranslated"), ("Guessed", "fuzzy"), ("%(n)d item", "untranslated")]


# --- placeholders and markup survive translation -----------------------------------------------------
_PLACEHOLDER = re.compile(r"%\(\w+\)[sdr]|%[sd]|\{\w*\}|</?\w+[^>]*>")


@pytest.mark.parametrize("language", LANGUAGES)
def test_translations_keep_placeholders_and_html(language: str) -> None:
    broken = []
    for entry in _live(_catalogue(language)).values():
        sources = [entry.msgid_plural] if entry.msgid_plural else [entry.msgid]
        translated = list(entry.msgstr_plural.values()) if entry.msgid_plural else [entry.msgstr]
        want = sorted(_PLACEHOLDER.findall(sources[0]))
        for text in translated:
            if text and sorted(_PLACEHOLDER.findall(text)) != want:
                broken.append(f"{entry.msgid!r}: {want} != {sorted(_PLACEHOLDER.findall(text))}")
    assert broken == [], f"{language}: translations that lost or changed a placeholder or tag:\n" + "\n".join(
        broken
    )


@pytest.mark.parametrize("language", LANGUAGES)
def test_translations_keep_product_names(language: str) -> None:
    names = ("HDP", "Hybrid Data Pipeline", "OAuth", "Google Analytics", "Salesforce", "Snowflake", "JDBC")
    lost = [
        f"{name}: {entry.msgid!r}"
        for entry in _live(_catalogue(language)).values()
        for name in names
        if name in entry.msgid and entry.msgstr and name not in entry.msgstr
    ]
    assert lost == []


# --- the catalogues list exactly what the code marks ------------------------------------------------
def _source_copy(tmp_path: Path) -> Path:
    """What makemessages reads, without the committed catalogues (so it writes fresh ones)."""
    copy = tmp_path / "src"
    ignore = shutil.ignore_patterns("__pycache__", "node_modules", "*.pyc")
    for folder in ("portal", "templates"):
        shutil.copytree(ROOT / folder, copy / folder, ignore=ignore)
    return copy


def test_the_catalogues_are_up_to_date_with_the_code(
    translations: ModuleType, tmp_path: Path, settings, monkeypatch
) -> None:
    """makemessages on a copy of the code yields exactly the committed msgids: a string added to
    the code, or changed, or removed, without `make messages` fails here with its text."""
    if shutil.which("xgettext") is None or shutil.which("msgmerge") is None:
        if os.environ.get("CI"):
            pytest.fail("GNU gettext is missing: scripts/install-test-deps.sh installs Debian's gettext.")
        pytest.skip("GNU gettext (xgettext) is not installed: apt-get install gettext")
    copy = _source_copy(tmp_path)
    settings.LOCALE_PATHS = [copy / "locale"]
    monkeypatch.chdir(copy)
    translations.makemessages(["de"], keep_pot=True)
    fresh = {_key(e) for e in polib.pofile(str(copy / "locale" / "django.pot")) if not e.obsolete}
    assert len(fresh) > 100  # the extraction found the project's strings
    for language in LANGUAGES:
        committed = set(_live(_catalogue(language)))
        new = sorted(k[1] for k in fresh - committed)
        gone = sorted(k[1] for k in committed - fresh)
        assert (new, gone) == ([], []), (
            f"locale/{language}/LC_MESSAGES/django.po is out of date: run `make messages`, then translate.\n"
            f"In the code but not in the catalogue: {new}\nIn the catalogue but no longer in the code: {gone}"
        )


# Calls whose literal first argument (and second, for the plural forms) is a msgid.
_GETTEXT = {"_": 1, "_l": 1, "gettext": 1, "gettext_lazy": 1, "ngettext": 2, "ngettext_lazy": 2}


def _python_msgids(source: str) -> set[tuple[str, str]]:
    found = set()
    for node in ast.walk(ast.parse(source)):
        if (
            not (isinstance(node, ast.Call) and isinstance(node.func, ast.Name))
            or node.func.id not in _GETTEXT
        ):
            continue
        args = node.args[: _GETTEXT[node.func.id]]
        if args and all(isinstance(a, ast.Constant) and isinstance(a.value, str) for a in args):
            values = [a.value for a in args if isinstance(a, ast.Constant)]
            found.add((values[0], values[1] if len(values) > 1 else ""))
    return found


def test_the_python_check_reads_every_gettext_alias() -> None:
    source = 'a = _("One")\nb = _l("Two")\nc = ngettext("%(n)d cat", "%(n)d cats", n)\nd = f(_("x" + y))\n'
    assert _python_msgids(source) == {("One", ""), ("Two", ""), ("%(n)d cat", "%(n)d cats")}


def test_every_python_msgid_is_in_the_catalogues() -> None:
    """Independent of xgettext (which knows no alias like ``_l`` unless told): each literal that
    portal/ hands to gettext is a msgid of both catalogues."""
    in_code: set[tuple[str, str]] = set()
    for path in (ROOT / "portal").rglob("*.py"):
        if "migrations" not in path.parts:
            in_code |= _python_msgids(path.read_text(encoding="utf-8"))
    assert len(in_code) > 100
    for language in LANGUAGES:
        committed = {(k[1], k[2]) for k in _live(_catalogue(language))}
        assert sorted(in_code - committed) == [], f"{language}: run `make messages`"
