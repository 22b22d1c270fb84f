"""The layout of tests/ (docs/testing.md, "Layout"): tests mirror the packages of portal/, and shared code
lives in tests/helpers/.

- ``tests/<package>/...`` is a package (or module) of ``portal/<package>/...``, except the cross-cutting suites
  (``e2e``, ``security``, ``i18n``, ``architecture`` (the import contracts), ``docs`` (the docs cite real
  things)), ``helpers`` and ``js`` (the npm side of tests/helpers/oidc.py).
- No test module and no conftest.py imports another test module or a conftest.py, at the top or inside a
  function, and no dotted path in a string names one (``settings.HDP_TRANSPORT_FACTORY = "tests..."``),
  except a test module naming itself. Shared code is imported from ``tests.helpers``; shared fixtures are
  loaded by ``pytest_plugins`` in tests/conftest.py.
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

TESTS = Path(__file__).resolve().parent
ROOT = TESTS.parent
PORTAL = ROOT / "portal"
#: Directories of tests/ that are not the tests of one portal package.
CROSS_CUTTING = {"e2e", "security", "i18n", "architecture", "docs"}
NOT_TESTS = {"helpers", "js", "__pycache__", "node_modules"}
DOTTED = re.compile(r"^tests(\.[A-Za-z_][A-Za-z0-9_]*)+$")


def _python_files() -> list[Path]:
    return sorted(
        p for p in TESTS.rglob("*.py") if "node_modules" not in p.parts and "__pycache__" not in p.parts
    )


def _module_name(path: Path) -> str:
    return ".".join(path.relative_to(ROOT).with_suffix("").parts)


def _is_test_or_conftest(module: str) -> bool:
    last = module.rsplit(".", 1)[-1]
    return last == "conftest" or last.startswith("test_")


def _imported_modules(source: str, module_name: str) -> list[tuple[int, str]]:
    """(line, module) of every import in the source, relative ones resolved, at any depth."""
    package = module_name.rsplit(".", 1)[0]
    found: list[tuple[int, str]] = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            found += [(node.lineno, alias.name) for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")[: len(package.split(".")) - (node.level - 1)]
                module = ".".join([*base, node.module] if node.module else base)
            else:
                module = node.module or ""
            found.append((node.lineno, module))
            # ``from tests.x import test_y`` imports the module tests.x.test_y.
            found += [(node.lineno, f"{module}.{alias.name}") for alias in node.names]
    return found


def _forbidden_target(module: str) -> bool:
    """A module of tests/ other than tests.helpers.*, that is a test module or a conftest.py (or their
    package, which would run their code)."""
    parts = module.split(".")
    if parts[0] != "tests" or parts[1:2] == ["helpers"]:
        return False
    return any(_is_test_or_conftest(".".join(parts[: i + 1])) for i in range(1, len(parts)))


def test_no_test_module_or_conftest_is_imported_by_another_module_of_tests():
    offences = []
    for path in _python_files():
        own = _module_name(path)
        for line, module in _imported_modules(path.read_text(), own):
            if _forbidden_target(module):
                offences.append(f"{path.relative_to(ROOT)}:{line} imports {module}")
        if path == Path(__file__).resolve():
            continue  # the examples below name test modules on purpose
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Constant) and isinstance(node.value, str) and DOTTED.match(node.value):
                named = node.value
                if _forbidden_target(named) and not (named == own or named.startswith(own + ".")):
                    offences.append(f"{path.relative_to(ROOT)}:{node.lineno} names {named}")
    assert offences == [], "import from tests/helpers/ instead:\n" + "\n".join(offences)


def test_pytest_plugins_only_in_the_root_conftest():
    declaring = [
        str(path.relative_to(ROOT))
        for path in _python_files()
        if re.search(r"^pytest_plugins\s*=", path.read_text(), re.M)
    ]
    assert declaring == ["tests/conftest.py"]


def test_each_directory_of_tests_mirrors_a_portal_package_or_is_a_cross_cutting_suite():
    strays = []
    for directory in sorted(p for p in TESTS.rglob("*") if p.is_dir()):
        relative = directory.relative_to(TESTS)
        if relative.parts[0] in NOT_TESTS | CROSS_CUTTING or NOT_TESTS & set(relative.parts):
            continue
        if not any(directory.glob("*.py")):
            continue
        mirrored = PORTAL.joinpath(*relative.parts)
        if not ((mirrored / "__init__.py").is_file() or mirrored.with_suffix(".py").is_file()):
            strays.append(f"tests/{relative.as_posix()} (no package or module portal/{relative.as_posix()})")
    assert strays == []


def test_tests_at_the_top_of_tests_are_only_about_tests():
    top = sorted(p.name for p in TESTS.glob("*.py"))
    assert top == ["__init__.py", "conftest.py", Path(__file__).name], (
        "a test module belongs in tests/<package>/"
    )


@pytest.mark.parametrize(
    ("module", "forbidden"),
    [
        ("tests.connections.test_checks", True),
        ("tests.e2e.conftest", True),
        ("tests.helpers.wizard", False),
        ("tests.support.conftest.make_run", True),
        ("tests.oauth", False),
        ("portal.onboarding.engine", False),
    ],
)
def test_the_check_tells_test_modules_and_conftests_from_helpers(module, forbidden):
    assert _forbidden_target(module) is forbidden


def test_the_check_sees_a_relative_import_inside_a_function():
    source = "def f():\n    from .test_other import thing\n    from ..conftest import other\n"
    found = {module for _, module in _imported_modules(source, "tests.connections.test_probe")}
    assert {"tests.connections.test_other", "tests.conftest"} <= found
    assert all(_forbidden_target(m) for m in ("tests.connections.test_other", "tests.conftest"))
