"""Handoff links (issue 19): the account owner's page and the callback bound to a link, without a
browser (tests/e2e/test_handoff_e2e.py walks the same in Chromium against real servers).

The provider's token endpoint is mocked (``responses``); the owner is a second test client that
never signs in to the portal."""

from __future__ import annotations

import base64
import json
import re
from datetime import timedelta
from unittest.mock import patch
from urllib.parse import parse_qs, urlsplit

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from portal.audit.models import AuditEntry
from portal.lib.logging import redact
from portal.oauth import handoff
from portal.oauth.models import HandoffLink, OAuthFlow
from portal.onboarding.models import RemoteObject, Run
from tests.helpers.oauth import CONFIG_X, REFRESH, SECRET, token_json

pytestmark = pytest.mark.django_db
CODE = "sentinel-auth-code-handoff"


def _jwt(claims: dict[str, str]) -> str:
    def part(data: dict[str, str]) -> str:
        return base64.urlsafe_b64encode(json.dumps(data).encode()).decode().rstrip("=")

    return f"{part({'alg': 'none'})}.{part(claims)}.sig"


def _make(run: Run, user, purpose: str = "consent", **kwargs) -> tuple[HandoffLink, str]:
    shown = handoff.Shown(
        admin="Ada Admin", tenant="Acme", store="Autonomous REST Connector", provider="Example",
        preset="custom", scope=CONFIG_X["scope"],
    )  # fmt: skip
    return handoff.create(
        run, purpose=purpose, created_by=user, start=handoff.StartParams(**CONFIG_X), shown=shown, **kwargs
    )


def _path(token: str) -> str:
    return reverse("oauth:handoff", args=[token])


def _form(owner: Client, token: str) -> str:
    page = owner.get(_path(token)).content.decode()
    return re.search(r'name="form" value="([^"]+)"', page).group(1)


def _press(owner: Client, token: str) -> str:
    """The owner's GET, then the button's POST: 303 to the provider; returns the state."""
    response = owner.post(_path(token), {"form": _form(owner, token)})
    assert response.status_code == 303, response.content
    query = parse_qs(urlsplit(response["Location"]).query)
    assert response["Location"].startswith(CONFIG_X["authorize_uri"])
    assert query["code_challenge_method"] == ["S256"]
    return query["state"][0]


def _back(owner: Client, state: str, **params: str):
    query = "&".join(f"{k}={v}" for k, v in {"state": state, **params}.items())
    with patch("portal.oauth.callback.client_secret_for", return_value=SECRET):
        return owner.get(reverse("oauth:callback", args=[CONFIG_X["app_name"]]) + "?" + query)


def _result(owner: Client, response) -> str:
    assert response.status_code == 303 and response["Location"] == reverse("oauth:handoff-result")
    page = owner.get(response["Location"])
    assert page.status_code == 200 and page["Referrer-Policy"] == "no-referrer"
    return page.content.decode()


def test_only_the_keyed_hash_is_stored_and_a_new_link_ends_the_older(run, user):
    first, token = _make(run, user, email="owner@example.com")
    assert len(token) == 43  # token_urlsafe(32): 256 bits
    assert first.token_hash == handoff.hash_token(token) and token not in first.token_hash
    row = json.dumps(list(HandoffLink.objects.values()), default=str)
    assert token not in row
    assert token not in json.dumps(list(AuditEntry.objects.values("detail")), default=str)
    created = AuditEntry.objects.get(action="handoff.created")
    assert created.actor == "acme_admin" and created.detail["sent_to"] == "owner@example.com"
    assert created.detail["purpose"] == "consent" and created.detail["expires_at"]

    second, _ = _make(run, user)
    first.refresh_from_db()
    assert first.state == "revoked" and first.end_reason == "a newer link was made"
    assert second.state == "waiting"
    assert (second.expires_at - timezone.now()) > timedelta(hours=71)
    with pytest.raises(handoff.LinkRefused):
        _make(run, user, hours=handoff.MAX_HOURS + 1)


def test_get_changes_nothing_and_the_page_says_what_is_asked(run, user, client):
    _, token = _make(run, user, note="For the GA property, please")
    for _ in range(3):  # a mail scanner, a preview, the owner
        page = Client().get(_path(token), HTTP_ACCEPT_LANGUAGE="en")
        assert page.status_code == 200
    body = page.content.decode()
    assert "Ada Admin (Acme) asks you" in body and "Autonomous REST Connector" in body
    assert "stay connected when you&#x27;re away" in body or "stay connected when you're away" in body
    assert "shares it with" in body and "Continue to Example" in body
    assert "For the GA property, please" in body
    assert CONFIG_X["client_id"] not in body and str(run.pk) not in body
    assert page["Referrer-Policy"] == "no-referrer" and page["Cache-Control"] == "no-store"
    assert page["X-Frame-Options"] == "DENY"
    assert "frame-ancestors 'none'" in page["Content-Security-Policy"]
    assert OAuthFlow.objects.count() == 0
    assert HandoffLink.objects.get().state == "waiting"


def test_the_owner_page_speaks_the_browser_language(run, user):
    _, token = _make(run, user)
    page = Client().get(_path(token), HTTP_ACCEPT_LANGUAGE="de")
    assert 'lang="de"' in page.content.decode()


def test_first_consent_through_a_link_keeps_the_tokens_and_spends_it(run, user, mocked):
    link, token = _make(run, user)
    owner = Client()
    state = _press(owner, token)
    flow = OAuthFlow.objects.get()
    assert flow.handoff_id == link.pk and flow.user_id == user.pk
    mocked.post(
        CONFIG_X["token_uri"],
        json=token_json(id_token=_jwt({"sub": "m1", "iss": "https://idp.example", "name": "Mia Marketing"})),
    )

    body = _result(owner, _back(owner, state, code=CODE))
    assert "Done: you can close this page." in body
    for secret in (CODE, REFRESH, CONFIG_X["client_id"], str(run.pk)):
        assert secret not in body
    run.refresh_from_db()
    assert run.tokens_enc and run.provider_subject == "m1" and run.provider_display_name == "Mia Marketing"
    link.refresh_from_db()
    assert link.state == "used" and link.used_by == "Mia Marketing"
    assert AuditEntry.objects.filter(action="handoff.used", detail__account="Mia Marketing").exists()
    assert "Used by Mia Marketing" in handoff.state_line(link)

    again = owner.get(_path(token))
    assert again.status_code == 410 and "already used" in again.content.decode()


def test_unknown_malformed_expired_and_revoked_links_get_one_plain_page(run, user):
    expired, expired_token = _make(run, user)
    HandoffLink.objects.filter(pk=expired.pk).update(expires_at=timezone.now() - timedelta(seconds=1))
    answers = {
        "unknown": Client().get(_path(handoff.new_token())),
        "malformed": Client().get(_path("not-a-link")),
        "expired": Client().get(_path(expired_token)),
    }
    revoked, revoked_token = _make(run, user)
    handoff.revoke(revoked, by="acme_admin", reason="revoked by the admin")
    answers["revoked"] = Client().get(_path(revoked_token))
    answers["revoked, POST"] = Client().post(_path(revoked_token))
    assert {k: r.status_code for k, r in answers.items()} == {
        "unknown": 404, "malformed": 404, "expired": 410, "revoked": 410, "revoked, POST": 410,
    }  # fmt: skip
    for response in answers.values():
        body = response.content.decode()
        assert "This link does not work" in body and "Acme" not in body and "Traceback" not in body
    assert OAuthFlow.objects.count() == 0
    expired.refresh_from_db()
    assert expired.state == "expired"
    assert AuditEntry.objects.filter(action="handoff.expired").count() == 1
    assert AuditEntry.objects.filter(action="handoff.revoked", detail__reason="revoked by the admin").exists()


def test_guessing_links_is_rate_limited_with_words(settings):
    settings.RATELIMIT_HANDOFF_PER_MINUTE = 3
    guesser = Client()
    codes = [guesser.get(_path(handoff.new_token())).status_code for _ in range(4)]
    assert codes == [404, 404, 404, 429]
    assert "Wait a minute" in guesser.get(_path(handoff.new_token())).content.decode()


def test_revoked_while_the_owner_is_at_the_provider_writes_nothing(run, user, mocked):
    link, token = _make(run, user)
    owner = Client()
    state = _press(owner, token)
    handoff.revoke(link, by="acme_admin", reason="revoked by the admin")
    mocked.post(CONFIG_X["token_uri"], json=token_json())

    body = _result(owner, _back(owner, state, code=CODE))
    assert "Nothing was changed" in body
    assert len(mocked.calls) == 0  # the code was never exchanged
    run.refresh_from_db()
    assert run.tokens_enc == "" and run.consented_at is None


def test_two_owners_at_once_one_completes_the_other_is_told(run, user, mocked):
    link, token = _make(run, user)
    first, second = Client(), Client()
    state_1, state_2 = _press(first, token), _press(second, token)
    mocked.post(CONFIG_X["token_uri"], json=token_json(refresh_token="refresh-of-the-first"))
    assert "Done" in _result(first, _back(first, state_1, code=CODE))
    held = Run.objects.get(pk=run.pk).tokens_enc

    mocked.replace("POST", CONFIG_X["token_uri"], json=token_json(refresh_token="refresh-of-the-second"))
    body = _result(second, _back(second, state_2, code=CODE + "2"))
    assert "already completed through this link" in body
    assert Run.objects.get(pk=run.pk).tokens_enc == held  # nothing of the second was written
    assert "refresh-of-the-first" in Run.objects.get(pk=run.pk).unseal("tokens")


def test_the_owner_saying_no_refuses_the_link(run, user, mocked):
    link, token = _make(run, user)
    owner = Client()
    state = _press(owner, token)
    body = _result(owner, _back(owner, state, error="access_denied"))
    assert "chose not to allow access" in body
    link.refresh_from_db()
    assert link.state == "refused" and "chose not to allow" in handoff.state_line(link)
    assert AuditEntry.objects.filter(action="handoff.refused").exists()
    assert Client().get(_path(token)).status_code == 410


def test_a_provider_error_refuses_the_link(run, user, mocked):
    link, token = _make(run, user)
    owner = Client()
    state = _press(owner, token)
    body = _result(owner, _back(owner, state, error="server_error"))
    assert "The provider answered with an error" in body
    link.refresh_from_db()
    assert link.state == "refused"


def _completed(run: Run, user) -> Run:
    Run.objects.filter(pk=run.pk).update(
        status=Run.Status.COMPLETED, provider_subject="m1", provider_issuer="https://idp.example",
        provider_display_name="Mia Marketing",
    )  # fmt: skip
    RemoteObject.objects.create(run=run, kind="app", name="a", remote_id=11, outcome="created")
    RemoteObject.objects.create(run=run, kind="profile", name="p", remote_id=5, outcome="created")
    return Run.objects.get(pk=run.pk)


def test_a_reconnect_link_refuses_another_provider_account(run, user, mocked):
    run = _completed(run, user)
    link, token = _make(run, user, purpose="reconnect")
    owner = Client()
    state = _press(owner, token)
    other = _jwt({"sub": "b2", "iss": "https://idp.example", "name": "Bob"})
    mocked.post(CONFIG_X["token_uri"], json=token_json(id_token=other))

    body = _result(owner, _back(owner, state, code=CODE))
    assert "different account" in body and "Mia" not in body
    run.refresh_from_db()
    assert run.tokens_enc == "" and run.provider_subject == "m1"
    link.refresh_from_db()
    assert link.state == "refused" and link.end_reason == "another provider account signed in"


def test_completing_the_purpose_another_way_ends_the_link(run, user):
    link, _ = _make(run, user)
    run.record_consent("{}", scope="read", expires_at=None, purpose="consent")
    link.refresh_from_db()
    assert link.state == "revoked" and link.end_reason == "the sign-in was completed another way"


def test_the_link_path_is_masked_in_log_text():
    token = handoff.new_token()
    line = f'"GET /oauth/h/{token}/ HTTP/1.1" 200 1234'
    assert token not in redact(line) and "/oauth/h/[redacted]/" in redact(line)


def test_two_owners_racing_past_the_first_check_only_one_writes(run, user, mocked):
    """Both were let through before either finished: the conditional UPDATE in the tokens' transaction decides."""
    link, token = _make(run, user)
    first, second = Client(), Client()
    state_1, state_2 = _press(first, token), _press(second, token)
    mocked.post(CONFIG_X["token_uri"], json=token_json(refresh_token="refresh-of-the-first"))
    assert "Done" in _result(first, _back(first, state_1, code=CODE))
    mocked.replace("POST", CONFIG_X["token_uri"], json=token_json(refresh_token="refresh-of-the-second"))
    with patch("portal.oauth.handoff.still_open", return_value=True):
        body = _result(second, _back(second, state_2, code=CODE + "2"))
    assert "already completed through this link" in body
    assert "refresh-of-the-first" in Run.objects.get(pk=run.pk).unseal("tokens")
    assert OAuthFlow.objects.filter(outcome="succeeded").count() == 1


def test_a_post_not_from_the_links_own_page_starts_nothing(run, user):
    _, token = _make(run, user)
    owner = Client()
    form = _form(owner, token)
    forged = {
        "no form token": owner.post(_path(token)),
        "another site": owner.post(_path(token), {"form": form}, HTTP_SEC_FETCH_SITE="cross-site"),
        "another origin": owner.post(_path(token), {"form": form}, HTTP_ORIGIN="https://evil.example"),
    }
    assert {k: r.status_code for k, r in forged.items()} == dict.fromkeys(forged, 403)
    assert OAuthFlow.objects.count() == 0
    ok = owner.post(_path(token), {"form": form}, HTTP_ORIGIN="null", HTTP_SEC_FETCH_SITE="same-origin")
    assert ok.status_code == 303


def test_gunicorns_access_log_line_has_the_link_masked(monkeypatch, tmp_path):
    """gunicorn.conf.py's logger_class: the request line, path and referrer of an access-log line."""
    # Loading gunicorn.conf.py sets PROMETHEUS_MULTIPROC_DIR when it is unset; set it here so the setting
    # is undone after the test and this process keeps its in-memory metrics (tests/ops read them).
    monkeypatch.setenv("PROMETHEUS_MULTIPROC_DIR", str(tmp_path))
    import runpy
    from datetime import timedelta as elapsed
    from pathlib import Path
    from types import SimpleNamespace

    from gunicorn.config import Config

    conf = runpy.run_path(str(Path(__file__).resolve().parents[2] / "gunicorn.conf.py"))
    token = handoff.new_token()
    path = f"/oauth/h/{token}/"
    logger = conf["logger_class"](Config())
    environ = {"REQUEST_METHOD": "GET", "RAW_URI": path, "PATH_INFO": path, "SERVER_PROTOCOL": "HTTP/1.1",
               "QUERY_STRING": "", "HTTP_REFERER": "http://portal.test" + path}  # fmt: skip
    resp = SimpleNamespace(status="200 OK", sent=10, headers=[])
    atoms = logger.atoms(resp, SimpleNamespace(headers=[]), environ, elapsed(seconds=0))
    line = " ".join(str(atoms[k]) for k in ("r", "U", "f"))
    assert token not in line and "/oauth/h/[redacted]/" in line
