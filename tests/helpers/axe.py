"""Accessibility checks with axe-core in a Playwright page.

    from tests.helpers.axe import assert_no_serious_axe_violations

    page.goto(live_server.url + "/sandbox/provider/")
    assert_no_serious_axe_violations(page)

axe-core comes from tests/js/node_modules (scripts/install-test-deps.sh). How it gets into the page
matters because the portal sends ``script-src 'self' 'nonce-...'``: ``page.add_script_tag(path=...)``
inserts an *inline* <script> (Playwright reads the file and sends its text), which that CSP blocks.
``page.evaluate(source)`` runs through the DevTools protocol, which CSP does not govern, so the page
keeps its real CSP and the check still works. (A ``bypass_csp=True`` context would also work, but
would hide CSP mistakes from every other assertion in the same test.)
"""

from __future__ import annotations

from functools import cache
from pathlib import Path
from typing import Any

from playwright.sync_api import Page

AXE_JS = Path(__file__).resolve().parent.parent / "js" / "node_modules" / "axe-core" / "axe.min.js"
BLOCKING_IMPACTS = ("serious", "critical")


@cache
def _axe_source() -> str:
    if not AXE_JS.is_file():
        raise RuntimeError(f"{AXE_JS} is missing (run scripts/install-test-deps.sh).")
    # A trailing expression so evaluate() gets a plain value back, not the script's completion value.
    return AXE_JS.read_text(encoding="utf-8") + "\n;true"


def inject_axe(page: Page) -> None:
    """Load axe-core into the page's main frame (once per document)."""
    if not page.evaluate("() => typeof window.axe === 'object'"):
        page.evaluate(_axe_source())


def run_axe(
    page: Page, context: str | dict[str, Any] | None = None, options: dict[str, Any] | None = None
) -> list[dict[str, Any]]:
    """Run ``axe.run`` on the page (or a CSS selector / axe context) and return its violations."""
    inject_axe(page)
    run_options = {"resultTypes": ["violations"], **(options or {})}
    results: dict[str, Any] = page.evaluate(
        "async ([context, options]) => await axe.run(context ?? document, options)",
        [context, run_options],
    )
    violations: list[dict[str, Any]] = results["violations"]
    return violations


def format_violations(violations: list[dict[str, Any]], max_nodes: int = 5) -> str:
    lines = []
    for v in violations:
        lines.append(f"[{v['impact']}] {v['id']}: {v['help']} ({v['helpUrl']})")
        for node in v["nodes"][:max_nodes]:
            summary = " ".join((node.get("failureSummary") or "").split())
            lines.append(f"    {' '.join(map(str, node['target']))}: {summary}")
        if len(v["nodes"]) > max_nodes:
            lines.append(f"    ... and {len(v['nodes']) - max_nodes} more")
    return "\n".join(lines)


def assert_no_serious_axe_violations(
    page: Page,
    context: str | dict[str, Any] | None = None,
    *,
    disable_rules: tuple[str, ...] = (),
    impacts: tuple[str, ...] = BLOCKING_IMPACTS,
) -> list[dict[str, Any]]:
    """Fail listing every axe violation with impact ``serious`` or ``critical``.

    Returns all violations (minor/moderate included) so a test can look at them too. Use
    ``disable_rules`` sparingly and say why next to the call.
    """
    options: dict[str, Any] = {}
    if disable_rules:
        options["rules"] = {rule: {"enabled": False} for rule in disable_rules}
    violations = run_axe(page, context, options)
    blocking = [v for v in violations if v.get("impact") in impacts]
    assert not blocking, (
        f"axe found {len(blocking)} serious/critical violation(s) on {page.url}:\n"
        + format_violations(blocking)
    )
    return violations
