"""The German and French catalogues: refresh them from the code, compile them, list what is missing.

    python scripts/translations.py update    # makemessages for de and fr, then compile, then report
    python scripts/translations.py compile   # locale/*/LC_MESSAGES/*.po -> .mo (what `make install` runs)
    python scripts/translations.py compile locale/de/LC_MESSAGES/django.po   # just that one
    python scripts/translations.py check     # exit 1 and list every msgid without a translation

``compile`` is pure Python (polib), so a machine without GNU gettext still gets working .mo files;
the .mo files are build output (.gitignore), never committed. ``update`` needs GNU xgettext and
msgmerge (Debian's ``gettext`` package), like any ``makemessages``. After ``update``, translate what
``check`` lists (new entries have an empty msgstr; entries whose text changed come back ``fuzzy``
with the old translation as a hint), remove the ``fuzzy`` flag once the translation is right, and
run ``compile`` (or ``make install``). tests/i18n/test_catalogues.py fails on the same findings.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

import polib

ROOT = Path(__file__).resolve().parent.parent
LOCALE_DIR = ROOT / "locale"
#: The languages besides English (keep in step with settings.LANGUAGES).
LANGUAGES = ("de", "fr")
#: Folders makemessages must not read (besides hidden ones, which it skips by itself).
IGNORED = ("node_modules", "tests", "staticfiles", "docs", "scripts", "*.min.js")
#: Aliases of the gettext functions used in portal/ that xgettext does not know by itself.
EXTRA_KEYWORDS = ("--keyword=_l",)  # gettext_lazy as _l


@dataclass(frozen=True)
class Finding:
    language: str
    domain: str
    msgid: str
    problem: str  # "untranslated" or "fuzzy"

    def __str__(self) -> str:
        return f"{self.language}/{self.domain}.po: {self.problem}: {self.msgid!r}"


def catalogues(locale_dir: Path = LOCALE_DIR) -> list[Path]:
    return sorted(locale_dir.glob("*/LC_MESSAGES/*.po"))


def compile_catalogue(po_path: Path, mo_path: Path | None = None) -> Path:
    """Write the .mo next to the .po (atomically: tests may compile while a server reads)."""
    mo_path = mo_path or po_path.with_suffix(".mo")
    catalogue = polib.pofile(str(po_path))
    fd, tmp = tempfile.mkstemp(dir=mo_path.parent, prefix=".", suffix=".mo")
    os.close(fd)
    try:
        catalogue.save_as_mofile(tmp)
        os.chmod(tmp, 0o644)
        os.replace(tmp, mo_path)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)
    return mo_path


def compile_all(locale_dir: Path = LOCALE_DIR, *, only_stale: bool = False) -> list[Path]:
    """Compile every catalogue; with ``only_stale``, only those whose .mo is missing or older."""
    written = []
    for po_path in catalogues(locale_dir):
        mo_path = po_path.with_suffix(".mo")
        if only_stale and mo_path.exists() and mo_path.stat().st_mtime >= po_path.stat().st_mtime:
            continue
        written.append(compile_catalogue(po_path, mo_path))
    return written


def findings(locale_dir: Path = LOCALE_DIR) -> list[Finding]:
    """Every live entry (not obsolete) of every catalogue that is untranslated or fuzzy."""
    found = []
    for po_path in catalogues(locale_dir):
        language, domain = po_path.parent.parent.name, po_path.stem
        for entry in polib.pofile(str(po_path)):
            if entry.obsolete:
                continue
            if "fuzzy" in entry.flags:
                found.append(Finding(language, domain, entry.msgid, "fuzzy"))
            elif not _translated(entry):
                found.append(Finding(language, domain, entry.msgid, "untranslated"))
    return found


def _translated(entry: polib.POEntry) -> bool:
    if entry.msgid_plural:
        return bool(entry.msgstr_plural) and all(entry.msgstr_plural.values())
    return bool(entry.msgstr)


def makemessages(languages: Iterable[str] = LANGUAGES, *, keep_pot: bool = False) -> None:
    """Django's makemessages with the project's options (Django must be set up), run on the
    directory it is called in: the repository, or a copy (tests/i18n extracts into one)."""
    from django.core.management import call_command
    from django.core.management.commands import makemessages as base

    class Command(base.Command):
        xgettext_options = [*base.Command.xgettext_options, *EXTRA_KEYWORDS]

    call_command(
        Command(),
        locale=list(languages),
        domain="django",
        ignore_patterns=list(IGNORED),
        no_obsolete=True,
        add_location="file",  # file names only: moving code does not rewrite every entry
        keep_pot=keep_pot,
        verbosity=0,
    )


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("action", choices=("update", "compile", "check"))
    parser.add_argument("po_files", nargs="*", type=Path, help="compile: only these catalogues")
    args = parser.parse_args(argv)
    if args.action == "compile" and args.po_files:
        for po_path in args.po_files:
            print(f"compiled {compile_catalogue(po_path)}")
        return 0
    if args.action == "update":
        os.chdir(ROOT)
        sys.path.insert(0, str(ROOT))
        os.environ.setdefault("DJANGO_SETTINGS_MODULE", "portal.settings")
        import django

        django.setup()
        makemessages()
    if args.action in ("update", "compile"):
        for mo_path in compile_all():
            print(f"compiled {mo_path.relative_to(ROOT)}")
    if args.action in ("update", "check"):
        missing = findings()
        for finding in missing:
            print(finding)
        print(f"{len(missing)} msgid(s) without a finished translation.")
        return 1 if missing and args.action == "check" else 0
    return 0


if __name__ == "__main__":
    sys.exit(main())
