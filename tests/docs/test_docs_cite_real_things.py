"""The docs cite only things that are in the repo.

Every repo path (``portal/...``, ``tests/...``, ``scripts/...``, ``docs/...``, ``templates/...``,
``static/...``, ``locale/...``, a bare file name such as ``pyproject.toml``), every test or function
named after a path (``path::name``, ``path::{a, b}``, ``path:line``) and every dotted ``portal.`` name
(a module, or a module attribute such as ``portal.connections.checks.statuses_for``) cited in
README.md, SECURITY.md and docs/*.md must exist. So must a name relative to a portal module or class
written as one code span (`flows.start`, `Run.busy_until`): what that module or class defines is read
with ``ast``. A file moved or renamed without its docs fails here, with the list of every citation
that no longer resolves.
"""

from __future__ import annotations

import ast
import html
import importlib
import os
import re
from collections.abc import Iterator
from dataclasses import dataclass
from functools import cache
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
DOCS = [ROOT / "README.md", ROOT / "SECURITY.md", *sorted((ROOT / "docs").glob("*.md"))]

# Folders whose contents are not the repo's: the venv, build output, node packages, caches.
NOT_REPO = {".git", ".venv", "node_modules", "__pycache__", "staticfiles", ".tmp", ".ci"}

ROOTS = "portal|tests|scripts|docs|templates|static|locale"
# A repo path: starts at a top-level folder, not in the middle of a URL or of another path
# (`/static/portal/...` is a URL, `<portal>/sandbox/` a placeholder). Braces and globs are expanded.
# Optionally followed by `::name`, `::{name, name}` (test or function names) or `:line`.
PATH = re.compile(
    rf"(?<![\w./~<>$@-])((?:{ROOTS})(?:/[\w.*{{}},-]*)+)"
    r"(?:::(\{[^}]*\}|[\w.]+)|:(\d+)(?:-(\d+))?\b)?"
)
# A file name with no folder (`pyproject.toml`, `conftest.py`): the top level or anywhere in the repo.
EXTENSIONS = "py|md|toml|lock|sh|html|css|js|mjs|json|ya?ml|cfg|ini|txt|po"
BARE_FILE = re.compile(rf"(?<![\w./<>$@-])([\w-]+(?:\.[\w-]+)*\.(?:{EXTENSIONS}))(?![\w/-])")
# Names that look like file names and are not.
NOT_FILES = {"Node.js"}
DOTTED = re.compile(r"(?<![\w./:@=-])portal(?:\.[A-Za-z_]\w*)+")
HOST_ENDINGS = {"com", "org", "net", "example", "test", "local", "internal", "invalid"}


@dataclass(frozen=True)
class Citation:
    doc: Path
    line: int
    text: str

    def where(self) -> str:
        return f"{self.doc.relative_to(ROOT)}:{self.line}: {self.text}"


def _line_of(text: str, offset: int) -> int:
    return text.count("\n", 0, offset) + 1


def _expand_braces(pattern: str) -> list[str]:
    match = re.search(r"\{([^{}]*)\}", pattern)
    if not match:
        return [pattern]
    head, tail = pattern[: match.start()], pattern[match.end() :]
    return [out for alt in match.group(1).split(",") for out in _expand_braces(head + alt.strip() + tail)]


def _is_repo_file(path: Path) -> bool:
    return not (NOT_REPO & set(path.relative_to(ROOT).parts)) and not path.name.endswith(".pyc")


def _exists(relative: str) -> bool:
    """A file, or a folder that holds at least one repo file (a folder left with only
    ``__pycache__`` after its modules moved does not count); globs need one match."""
    relative = relative.rstrip("/") or "."
    candidates = list(ROOT.glob(relative)) if "*" in relative else [ROOT / relative]
    for path in candidates:
        if path.is_file() and _is_repo_file(path):
            return True
        if path.is_dir() and any(p.is_file() and _is_repo_file(p) for p in path.rglob("*")):
            return True
    return False


@cache
def _all_file_names() -> frozenset[str]:
    names: set[str] = set()
    for _folder, subfolders, files in os.walk(ROOT):
        subfolders[:] = [d for d in subfolders if d not in NOT_REPO]  # not into .venv, node_modules, ...
        names.update(f for f in files if not f.endswith(".pyc"))
    return frozenset(names)


@cache
def _names_defined_in(path: Path) -> frozenset[str]:
    """Class and function names (nested ones too) and module-level assignments of a Python file."""
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
            names.add(node.name)
        elif isinstance(node, ast.Assign):
            names.update(t.id for t in node.targets if isinstance(t, ast.Name))
        elif isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name):
            names.add(node.target.id)
    return frozenset(names)


def _path_problem(relative: str, names: str | None, first_line: str | None, last_line: str | None) -> str:
    if NOT_REPO & set(relative.split("/")):  # tests/js/node_modules: made by an install, not in the repo
        return ""
    expanded = _expand_braces(relative.rstrip(".,;"))
    missing = [p for p in expanded if not _exists(p)]
    if missing:
        return "no such file or folder" + (f" ({', '.join(missing)})" if len(expanded) > 1 else "")
    if names and len(expanded) == 1 and expanded[0].endswith(".py"):
        defined = _names_defined_in(ROOT / expanded[0])
        # `path::{test_a (10 payloads), test_b}`: the names, without the notes in parentheses.
        wanted = [
            m.group(0) for m in re.finditer(r"(?<![\w(])[A-Za-z_][\w.]*", re.sub(r"\([^)]*\)", "", names))
        ]
        absent = [n for n in wanted if not set(n.split(".")) <= defined]
        if absent:
            return f"not defined in {expanded[0]}: {', '.join(absent)}"
    if first_line and len(expanded) == 1:
        lines = len((ROOT / expanded[0]).read_text(encoding="utf-8").splitlines())
        if int(last_line or first_line) > lines:
            return f"{expanded[0]} has only {lines} lines"
    return ""


@cache
def _logger_names() -> str:
    """The text of portal/: a quoted dotted name in it is a logger (``portal.security``) or an event
    name (``hdp.auth_refused``)."""
    return "\n".join(p.read_text(encoding="utf-8") for p in (ROOT / "portal").rglob("*.py"))


def _dotted_problem(name: str) -> str:
    parts = name.split(".")
    if parts[-1] in HOST_ENDINGS:  # portal.example.com: a host name
        return ""
    for i in range(len(parts), 0, -1):
        module_name = ".".join(parts[:i])
        try:
            obj = importlib.import_module(module_name)
        except ModuleNotFoundError as exc:
            if exc.name and (module_name == exc.name or module_name.startswith(exc.name + ".")):
                continue  # that module does not exist: try a shorter prefix
            raise  # the module exists and one of its own imports is broken
        for attr in parts[i:]:
            if not hasattr(obj, attr):
                if f'"{name}"' in _logger_names():  # a logger name, e.g. getLogger("portal.security")
                    return ""
                return f"{'.'.join(parts[:i])} has no attribute {'.'.join(parts[i:])}"
            obj = getattr(obj, attr)
        return ""
    return "no such module"  # pragma: no cover (``portal`` itself always imports)


def _layout_folders(text: str) -> list[tuple[int, int, str]]:
    """In a fenced layout block (docs/architecture.md), a line that starts with a folder
    (``portal/lib/   env.py, crypto.py``) names files of that folder on it and on the indented lines
    below it: (start, end, folder) for each such stretch of text."""
    stretches = []
    for block in re.finditer(r"^```[^\n]*\n(.*?)^```", text, re.MULTILINE | re.DOTALL):
        heads = list(re.finditer(rf"^((?:{ROOTS})(?:/[\w.-]+)*/)\s", block.group(1), re.MULTILINE))
        for i, head in enumerate(heads):
            after = heads[i + 1] if i + 1 < len(heads) else None
            end = after.start() if after else len(block.group(1))
            stretches.append((block.start(1) + head.start(), block.start(1) + end, head.group(1)))
    return stretches


@dataclass(frozen=True)
class _Index:
    """What portal/ defines, read with ``ast`` (nothing imported): module names to the names each
    defines at its top level, class names to the names their bodies define."""

    modules: dict[str, list[frozenset[str]]]
    classes: dict[str, list[frozenset[str]]]


def _body_names(body: list[ast.stmt]) -> frozenset[str]:
    names: set[str] = set()
    for node in body:
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
            names.add(node.name)
        elif isinstance(node, ast.Assign):
            names.update(t.id for t in node.targets if isinstance(t, ast.Name))
        elif isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name):
            names.add(node.target.id)
        elif isinstance(node, ast.ImportFrom | ast.Import):
            names.update((a.asname or a.name).split(".")[0] for a in node.names)
    return frozenset(names)


@cache
def _portal_index() -> _Index:
    modules: dict[str, list[frozenset[str]]] = {}
    classes: dict[str, list[frozenset[str]]] = {}
    for path in (ROOT / "portal").rglob("*.py"):
        if "migrations" in path.parts or not _is_repo_file(path):
            continue
        tree = ast.parse(path.read_text(encoding="utf-8"))
        names = _body_names(tree.body)
        if path.name == "__init__.py":  # a package: its own names, its modules, the models of its app
            names |= {p.stem for p in path.parent.iterdir() if p.suffix == ".py" or p.is_dir()}
            if (path.parent / "models.py").is_file():  # `ratelimit.RateCounter`: app label and model
                names |= _body_names(ast.parse((path.parent / "models.py").read_text(encoding="utf-8")).body)
            modules.setdefault(path.parent.name, []).append(names)
        else:
            modules.setdefault(path.stem, []).append(names)
        for node in ast.walk(tree):
            if isinstance(node, ast.ClassDef):
                classes.setdefault(node.name, []).append(_body_names(node.body))
    return _Index(modules, classes)


# A code span that is one dotted name relative to a portal module or class: `flows.start`,
# `reconcile.verifiable`, `Run.busy_until`, `OAuthFlow.frozen()`.
RELATIVE = re.compile(r"`([A-Za-z_]\w*)\.([A-Za-z_]\w*)(?:\(\))?`")


def _relative_problem(owner: str, attr: str) -> str | None:
    """None when ``owner`` is no portal module or class (``request.GET``, ``django...``)."""
    index = _portal_index()
    candidates = index.modules.get(owner, []) + index.classes.get(owner, [])
    if not candidates:
        return None
    if any(attr in names for names in candidates) or f'"{owner}.{attr}"' in _logger_names():
        return ""  # defined there, or an event or logger name such as "hdp.auth_refused"
    return f"no module or class {owner} in portal/ defines {attr}"


def _citations(doc: Path) -> Iterator[tuple[Citation, str]]:
    text = doc.read_text(encoding="utf-8")
    path_spans = []
    for m in PATH.finditer(text):
        path_spans.append(m.span(1))
        cited = Citation(doc, _line_of(text, m.start()), re.sub(r"\s+", " ", m.group(0)))
        yield cited, _path_problem(m.group(1), m.group(2), m.group(3), m.group(4))
    folders = _layout_folders(text)
    for m in BARE_FILE.finditer(text):
        name = m.group(1)
        if name in NOT_FILES or any(a <= m.start() < b for a, b in path_spans):
            continue
        folder = next((f for start, end, f in folders if start <= m.start() < end), None)
        if folder is None:
            problem = "" if name in _all_file_names() else "no file of that name in the repo"
        elif not any(_is_repo_file(p) for p in (ROOT / folder).rglob(name)):
            problem = f"no file of that name under {folder}"
        else:
            problem = ""
        yield Citation(doc, _line_of(text, m.start()), name), problem
    for m in RELATIVE.finditer(text):
        problem = _relative_problem(m.group(1), m.group(2))
        if problem is not None and m.group(1) != "portal":
            yield Citation(doc, _line_of(text, m.start()), m.group(0).strip("`")), problem
    for m in DOTTED.finditer(text):
        yield Citation(doc, _line_of(text, m.start()), m.group(0)), _dotted_problem(m.group(0))


def test_the_docs_are_found():
    assert {"README.md", "SECURITY.md", "architecture.md", "deploy.md"} <= {d.name for d in DOCS}


def test_every_cited_path_and_portal_name_exists():
    checked = 0
    missing = []
    for doc in DOCS:
        for citation, problem in _citations(doc):
            checked += 1
            if problem:
                missing.append(f"{citation.where()}  ->  {problem}")
    assert checked > 300, f"only {checked} citations found: is the pattern still matching the docs?"
    if missing:
        pytest.fail(f"{len(missing)} of {checked} citations name nothing in the repo:\n" + "\n".join(missing))


# --- what the README tells a person to press, as the page shows it -----------------------------------
@pytest.mark.django_db
def test_the_readme_names_the_grant_row_the_sandbox_console_shows(client):
    """README's "press **Revoke access** in the row of ..." names the application as the sandbox
    provider's console shows it in "Granted access" (not the HDP application's name)."""
    from datetime import timedelta

    from django.urls import reverse
    from django.utils import timezone
    from oauth2_provider.models import AccessToken, RefreshToken

    from portal.accounts.models import User
    from portal.sandbox.provider.seed import ACCOUNT_USERNAME, seed_provider

    application = seed_provider()
    person = User.objects.get(username=ACCOUNT_USERNAME)
    access = AccessToken.objects.create(
        user=person, application=application, token="readme-access", scope="read",
        expires=timezone.now() + timedelta(hours=1),
    )  # fmt: skip
    RefreshToken.objects.create(
        user=person, application=application, token="readme-refresh", access_token=access
    )
    page = client.get(reverse("sandbox_provider:console")).content.decode()
    rows = [re.sub(r"<[^>]+>|\s+", " ", row) for row in re.findall(r"<tr>(.*?)</tr>", page, re.DOTALL)]
    grant = [row for row in rows if "Revoke access" in row and ACCOUNT_USERNAME in row]
    assert len(grant) == 1, rows
    shown = application.name
    assert html.unescape(grant[0]).count(shown) >= 1, (shown, grant[0])

    readme = re.sub(r"\s+", " ", (ROOT / "README.md").read_text(encoding="utf-8"))
    steps = re.findall(r"\*\*Revoke access\*\*[^.]*", readme)
    assert steps, "README no longer tells how to revoke access at the sandbox provider"
    for step in steps:
        assert f'"{shown}" / {ACCOUNT_USERNAME}' in step, (
            f"README names another row than the console's: {step}"
        )
