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

from django.conf import settings
from django.core import mail
from django.core.management import call_command
from django_tasks_db.models import DBTaskResult

from portal.connections import checks
from portal.connections.models import ConnectionCheck
from portal.connections.status import State
from portal.hdp.client import HdpClient
from portal.oauth.models import HandoffLink
from tests.helpers.api import VERDICTS, make_setup, sign_in
from tests.helpers.completed_setup import completed_setup
from tests.helpers.sandbox import PASSWORDS

DOC = Path(__file__).resolve().parents[2] / "docs" / "api.md"
BLOCK = re.compile(r"^```(\w+)\n(.*?)^```", re.MULTILINE | re.DOTALL)


def blocks(language: str) -> list[str]:
    return [code for lang, code in BLOCK.findall(DOC.read_text()) if lang == language]


def test_the_docs_walk_runs_against_the_live_portal(api_live):
    acme = sign_in("acme_admin")
    # A real setup in the emulator (its application, profile, recorded provider account), as a handoff
    # link needs; its last check found that it needs a reconnect.
    with HdpClient(
        settings.HDP_BASE_URL, "portal_svc", PASSWORDS["portal_svc"], on_behalf_of="acme_admin"
    ) as hdp:
        broken = completed_setup(hdp, prefix="acme_broken")
    checks.record(broken, VERDICTS[State.NEEDS_RECONNECT], trigger=ConnectionCheck.Trigger.SCHEDULED)
    make_setup(acme, name="acme_fine", state=State.WORKING)

    [create] = [line for line in blocks("sh")[0].splitlines() if " api_token create " in line]
    out = io.StringIO()
    call_command(*shlex.split(create)[1:], stdout=out)
    token = out.getvalue().strip()

    shell = blocks("bash")
    assert len(shell) == 4, "the walk's curl blocks"
    env = {**os.environ, "PORTAL": api_live, "TOKEN": token}
    answers = []
    for code in shell:
        done = subprocess.run(["bash", "-e", "-c", code], env=env, capture_output=True, text=True, timeout=60)
        assert done.returncode == 0, (code, done.stderr)
        answers.append(done.stdout + done.stderr)
        # The walk's check was never run (no worker here): abandoned, as after CONNECTION_CHECK_TIMEOUT,
        # so the setup needs a reconnect again for the next step.
        ConnectionCheck.objects.filter(run=broken, finished_at__isnull=True).update(
            finished_at=broken.created_at, abandoned=True
        )
    assert '"username": "acme_admin"' in answers[0]
    assert str(broken.pk) in answers[1] and "acme_fine" not in answers[1]
    assert '"progress": "queued"' in answers[2]
    # The link: made, e-mailed to the owner, and in no line the example printed.
    [curl_link] = HandoffLink.objects.filter(run=broken)
    assert f'"id": "{curl_link.pk}"' in answers[3] and '"state": "waiting"' in answers[3]
    [sent] = mail.outbox
    [url] = [line.strip() for line in sent.body.splitlines() if "/oauth/h/" in line]
    assert (
        url.startswith(api_live)
        and url not in "".join(answers)
        and url.rsplit("/", 2)[1] not in "".join(answers)
    )
    [python] = blocks("python")
    printed = io.StringIO()
    with contextlib.redirect_stdout(printed):
        exec(compile(python, str(DOC), "exec"), {"PORTAL": api_live, "TOKEN": token})
    assert "acme_broken" in printed.getvalue() and "queued" in printed.getvalue()
    assert ConnectionCheck.objects.filter(run=broken, trigger="manual").count() == 2
    # The Python walk's link revoked the curl one (one open link per setup and purpose), then itself.
    links = HandoffLink.objects.filter(run=broken).order_by("created_at")
    assert [(link.state, link.end_reason) for link in links] == [
        ("revoked", "a newer link was made"),
        ("revoked", "revoked by the admin"),
    ]
    assert f"{links[1].pk} waiting" in printed.getvalue() and len(mail.outbox) == 2
    assert "/oauth/h/" not in printed.getvalue()
    assert DBTaskResult.objects.filter(task_path__endswith="run_queued_check").count() == 2
