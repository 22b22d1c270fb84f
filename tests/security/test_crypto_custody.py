"""SECURITY.md items 15 and 33, and the fault-matrix row "key rotated mid-flow".

* AES-256-GCM with associated data ``run|tenant|field``: a ciphertext moved to another run, tenant
  or field does not open; tampering does not open; an unknown key id does not open.
* Rotation: a new key listed first seals new values under its id, values sealed under the old key
  still open, and a flow started before the rotation completes after it.
* The encryption key is not ``SECRET_KEY``: changing ``SECRET_KEY`` leaves stored values readable,
  and removing the encryption key makes them unreadable.
* Item 33: no code path writes tokens to an existing profile; tokens reach HDP only from the
  callback's fresh exchange (``run.seal("tokens")`` in exactly one place).
"""

from __future__ import annotations

import ast
import json
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest
import responses
from django.urls import reverse

from portal.lib import crypto
from portal.oauth.models import OAuthFlow
from portal.onboarding.models import Run
from tests.helpers.wizard import create_app, start_run

PORTAL = Path(__file__).resolve().parents[2] / "portal"
OLD = crypto.generate_key_entry("old2025")
NEW = crypto.generate_key_entry("new2026")


@pytest.fixture
def run(db):
    from portal.accounts.models import User

    owner = User.objects.create(username="acme_admin", hdp_tenant_id=71)
    return Run.objects.create(owner=owner, tenant_id=71, tenant_name="Acme")


def test_ciphertext_is_bound_to_run_tenant_and_field(settings, run):
    settings.PORTAL_ENCRYPTION_KEYS = [OLD]
    run.seal("tokens", '{"refresh_token": "sentinel-rt"}')
    stored = run.tokens_enc
    assert "sentinel-rt" not in stored and stored.startswith("v1.old2025.")
    other = Run.objects.create(owner=run.owner, tenant_id=71)
    other.tokens_enc = stored
    with pytest.raises(crypto.DecryptionError):
        other.unseal("tokens")  # another run
    run.app_secret_enc = stored
    with pytest.raises(crypto.DecryptionError):
        run.unseal("app_secret")  # another field
    run.tenant_id = 72
    with pytest.raises(crypto.DecryptionError):
        run.unseal("tokens")  # another tenant
    run.tenant_id = 71
    assert json.loads(run.unseal("tokens") or "")["refresh_token"] == "sentinel-rt"
    tampered = stored[:-2] + ("A" if stored[-2] != "A" else "B") + stored[-1]
    run.tokens_enc = tampered
    with pytest.raises(crypto.DecryptionError):
        run.unseal("tokens")
    run.tokens_enc = stored.replace("old2025", "nosuchkey", 1)
    with pytest.raises(crypto.DecryptionError):
        run.unseal("tokens")


def test_rotation_old_values_open_new_values_use_the_new_key(settings, run):
    settings.PORTAL_ENCRYPTION_KEYS = [OLD]
    run.seal("tokens", "before")
    settings.PORTAL_ENCRYPTION_KEYS = [NEW, OLD]
    assert run.unseal("tokens") == "before"
    run.seal("app_secret", "after")
    assert crypto.key_id(run.app_secret_enc) == "new2026"
    settings.PORTAL_ENCRYPTION_KEYS = [NEW]  # the old key retired: its values fail closed
    with pytest.raises(crypto.DecryptionError):
        run.unseal("tokens")
    assert run.unseal("app_secret") == "after"


def test_encryption_key_is_not_secret_key(settings, run):
    settings.PORTAL_ENCRYPTION_KEYS = [OLD]
    run.seal("tokens", "value")
    settings.SECRET_KEY = "a-completely-different-secret-key-" + "x" * 30
    assert run.unseal("tokens") == "value"
    assert all(settings.SECRET_KEY not in entry for entry in settings.PORTAL_ENCRYPTION_KEYS)


@pytest.mark.parametrize("entry", ["nokey", "k1:", "k1:c2hvcnQ", "k.1:" + "A" * 43, ":" + "A" * 43])
def test_malformed_keys_stop_the_process(entry):
    from django.core.exceptions import ImproperlyConfigured

    with pytest.raises(ImproperlyConfigured):
        crypto.parse_keys([entry])


def test_a_flow_started_before_a_key_rotation_completes_after_it(acme, hdp_log, settings):
    """Fault matrix "key rotated mid-flow": the pending flow's verifier (old key) still opens."""
    settings.PORTAL_ENCRYPTION_KEYS = [OLD]
    run = start_run(acme)
    assert create_app(acme, run).status_code == 303
    start = acme.post(reverse("onboarding:authorize-start", args=[run.pk]))
    state = parse_qs(urlsplit(start["Location"]).query)["state"][0]
    flow = OAuthFlow.objects.get(run=run)
    assert crypto.key_id(flow.code_verifier_enc) == "old2025"
    settings.PORTAL_ENCRYPTION_KEYS = [NEW, OLD]  # rotated while the person is at the provider
    with responses.RequestsMock() as provider:
        provider.post(
            "http://127.0.0.1:8000/sandbox/oauth/token/",
            json={
                "access_token": "a",
                "refresh_token": "r",
                "token_type": "Bearer",
                "scope": "read offline_access",
            },
        )
        response = acme.get(reverse("oauth:callback", args=["Acme_GA_app"]), {"state": state, "code": "c"})
        assert len(provider.calls) == 1
    assert response.status_code == 303
    assert response["Location"] == reverse("onboarding:step-profile", args=[run.pk])
    run.refresh_from_db()
    assert crypto.key_id(run.tokens_enc) == "new2026"  # sealed after the rotation: the new key


def _calls(attr: str) -> list[str]:
    """Files under portal/ (sandbox excluded: it is HDP's stand-in) calling ``.<attr>(...)``."""
    found = []
    for path in PORTAL.rglob("*.py"):
        if "sandbox" in path.parts:
            continue
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr == attr:
                args = [a.value for a in node.args if isinstance(a, ast.Constant)]
                found.append(f"{path.relative_to(PORTAL)}:{args[0] if args else ''}")
    return found


def test_no_code_path_pushes_tokens_except_a_fresh_exchange():
    """Item 33: tokens are sealed only from the callback's exchange; the one profile update is the
    reconnect finish, which sends what that exchange sealed (unseal("tokens")) and nothing else."""
    assert _calls("update_oauth_profile") == ["connections/reconnect.py:"]
    assert "connections/reconnect.py:tokens" in _calls("unseal")
    # Run.record_consent is the one sealer, and only the OAuth callback (portal/oauth) calls it.
    assert [c for c in _calls("seal") if c.endswith(":tokens")] == ["onboarding/models.py:tokens"]
    callers = _calls("record_consent")
    assert callers and all(c.startswith("oauth/") for c in callers), callers
    assert sorted(set(_calls("create_oauth_profile"))) == ["onboarding/engine/profile.py:"]
