"""docs/api.md's examples, run as written against the live portal (so they cannot go stale).

The token comes from the doc's own ``manage.py api_token create`` line; every ``bash`` block runs in a
shell with ``PORTAL`` and ``TOKEN`` set, every ``python`` block runs with them as globals.
"""

from __future__ import annotations

import contextlib
import io
import os
import re
import shlex
import subprocess
from pathlib import Path

from django.core.management import call_command
from django_tasks_db.models import DBTaskResult

from portal.connections.models import ConnectionCheck
from portal.connections.status import State
from tests.helpers.api import make_setup, sign_in

DOC = Path(__file__).resolve().parents[2] / "docs" / "api.md"
BLOCK = re.compile(r"^```(\w+)\n(.*?)^```", re.MULTILINE | re.DOTALL)


def blocks(language: str) -> list[str]:
    return [code for lang, code in BLOCK.findall(DOC.read_text()) if lang == language]


def test_the_docs_walk_runs_against_the_live_portal(api_live):
    acme = sign_in("acme_admin")
    broken = make_setup(acme, name="acme_broken", state=State.NEEDS_RECONNECT)
    make_setup(acme, name="acme_fine", state=State.WORKING)

    [create] = [line for line in blocks("sh")[0].splitlines() if " api_token create " in line]
    out = io.StringIO()
    call_command(*shlex.split(create)[1:], stdout=out)
    token = out.getvalue().strip()

    shell = blocks("bash")
    assert len(shell) == 3, "the walk's curl blocks"
    env = {**os.environ, "PORTAL": api_live, "TOKEN": token}
    answers = []
    for code in shell:
        done = subprocess.run(["bash", "-e", "-c", code], env=env, capture_output=True, text=True, timeout=60)
        assert done.returncode == 0, (code, done.stderr)
        answers.append(done.stdout)
    assert '"username": "acme_admin"' in answers[0]
    assert str(broken.pk) in answers[1] and "acme_fine" not in answers[1]
    assert '"progress": "queued"' in answers[2]

    # The curl walk's check was never run (no worker here): abandoned, as after CONNECTION_CHECK_TIMEOUT.
    ConnectionCheck.objects.filter(run=broken, finished_at__isnull=True).update(
        finished_at=broken.created_at, abandoned=True
    )
    [python] = blocks("python")
    printed = io.StringIO()
    with contextlib.redirect_stdout(printed):
        exec(compile(python, str(DOC), "exec"), {"PORTAL": api_live, "TOKEN": token})
    assert "acme_broken" in printed.getvalue() and "queued" in printed.getvalue()
    assert ConnectionCheck.objects.filter(run=broken, trigger="manual").count() == 2
    assert DBTaskResult.objects.count() == 2
