"""The layer rules of docs/architecture.md hold, and import-linter (pyproject.toml ``[tool.importlinter]``)
notices when a change breaks them, an import inside a function included.

Each case copies portal/ and pyproject.toml into a temporary directory, adds one import the rules forbid,
and runs ``lint-imports`` there on the real configuration, limited to the contract that must catch it.
A subprocess, so that the copy (first on its ``sys.path``) is analysed, not the ``portal`` this test
process already imported. About a second per run.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
CONTRACTS = {"layers", "project-modules", "requests-oauthlib", "httpx", "acyclic"}


def lint_imports(cwd: Path, *contracts: str) -> subprocess.CompletedProcess[str]:
    """``lint-imports`` of the project in ``cwd`` (its pyproject.toml, its portal/), without a cache."""
    argv = [
        sys.executable,
        "-c",
        "import sys; from importlinter.cli import lint_imports_command as c; sys.exit(c())",
    ]
    argv += ["--no-cache", "--no-logo", *(arg for contract in contracts for arg in ("--contract", contract))]
    env = {**os.environ, "PYTHONPATH": str(cwd), "COLUMNS": "200", "NO_COLOR": "1"}
    return subprocess.run(argv, cwd=cwd, env=env, capture_output=True, text=True, timeout=60, check=False)


@pytest.fixture(scope="module")
def copy(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A pristine copy of the package and its configuration; each case edits and restores one file."""
    root = tmp_path_factory.mktemp("project")
    shutil.copytree(ROOT / "portal", root / "portal", ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
    shutil.copy(ROOT / "pyproject.toml", root / "pyproject.toml")
    result = lint_imports(root)
    assert result.returncode == 0, result.stdout + result.stderr  # the copy keeps every contract as is
    return root


def test_the_real_configuration_names_every_rule_and_the_code_keeps_them() -> None:
    from importlinter import api

    contracts = api.read_configuration(str(ROOT / "pyproject.toml"))["contracts_options"]
    assert {contract["id"] for contract in contracts} == CONTRACTS
    result = lint_imports(ROOT)
    assert result.returncode == 0, result.stdout + result.stderr
    assert f"Contracts: {len(CONTRACTS)} kept, 0 broken." in result.stdout


# (file to edit, code appended to it, the contract that must break, text its report must contain)
INJECTED = {
    "a cycle inside connections, hidden in a function": (
        "portal/connections/notify.py",
        "def _status_now(run):\n    from portal.connections import checks\n\n    return checks.status_for(run)\n",
        "acyclic",
        "portal.connections",
    ),
    "a cycle inside oauth through a module __getattr__": (
        "portal/oauth/flows.py",
        "def __getattr__(name):\n    from portal.oauth import callback\n\n    return getattr(callback, name)\n",
        "acyclic",
        "portal.oauth",
    ),
    "the wizard importing the day-two layer above it, in a function": (
        "portal/onboarding/wizard.py",
        "def _statuses():\n    from portal.connections import checks\n\n    return checks\n",
        "layers",
        "portal.onboarding.wizard -> portal.connections.checks",
    ),
    "hdp importing accounts (a cycle between packages)": (
        "portal/hdp/errors.py",
        "from portal.accounts import models as _accounts_models\n",
        "layers",
        "portal.hdp.errors -> portal.accounts.models",
    ),
    "the portal importing the sandbox": (
        "portal/support/reads.py",
        "def _emulator():\n    import portal.sandbox.hdp.emulator\n\n    return portal.sandbox.hdp.emulator\n",
        "layers",
        "portal.support.reads -> portal.sandbox.hdp.emulator",
    ),
    "urls importing a part by code instead of by string": (
        "portal/urls.py",
        "from portal.onboarding import urls as _onboarding_urls\n",
        "project-modules",
        "portal.urls -> portal.onboarding.urls",
    ),
    "connections calling HDP with httpx itself": (
        "portal/connections/status.py",
        "def _get(url):\n    import httpx\n\n    return httpx.get(url)\n",
        "httpx",
        "portal.connections.status -> httpx",
    ),
    "a second importer of requests_oauthlib": (
        "portal/oauth/flows.py",
        "def _session():\n    from requests_oauthlib import OAuth2Session\n\n    return OAuth2Session\n",
        "requests-oauthlib",
        "portal.oauth.flows -> requests_oauthlib",
    ),
}


@pytest.mark.parametrize("case", list(INJECTED))
def test_an_injected_import_breaks_its_contract(copy: Path, case: str) -> None:
    path, code, contract, expected = INJECTED[case]
    target = copy / path
    original = target.read_text()
    target.write_text(original + "\n\n" + code)
    try:
        result = lint_imports(copy, contract)
    finally:
        target.write_text(original)
    output = result.stdout + result.stderr
    assert result.returncode == 1, output
    assert "0 kept, 1 broken." in output and expected in output, output
