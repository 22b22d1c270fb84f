"""The setup page's "Who can use it" section (issue 20): HDP's shares by name, share, remove, change, the
drift note, the reads-as sentence, and every bad input and fault with a plain sentence and HDP's shares as
read back. Real views, the HDP emulator in-process."""

from __future__ import annotations

import httpx
import pytest
from django.urls import reverse

from portal.accounts.models import User
from portal.audit.models import AuditEntry
from portal.onboarding.models import Run
from portal.onboarding.sharing import Shares
from portal.sandbox.hdp import emulator, faults, passwords
from portal.sandbox.hdp.models import Fault, HdpUser
from portal.sandbox.hdp.seed import seed_demo
from tests.helpers.completed_setup import completed_setup, ids, sign_in, use_emulator

ACME = 71
QUERY = [5, 6, 7]


@pytest.fixture
def hdp(settings, db):
    client = use_emulator(settings)
    seed_demo()
    HdpUser.objects.create(
        user_name="acme_analyst", password=passwords.make("x-analyst-pw"), tenant_id=ACME, permissions=[11]
    )
    faults.clear()
    yield client
    faults.clear()


@pytest.fixture
def setup(client, hdp):
    sign_in(client)
    return completed_setup(hdp, "Acme_Sh")


def hdp_id(name: str) -> int:
    return int(HdpUser.objects.get(user_name=name).pk)


def _page(client, run: Run) -> str:
    response = client.get(reverse("connections:shares", args=[run.pk]))
    assert response.status_code == 200
    return response.content.decode()


def _post(client, run: Run, **data):
    return client.post(reverse("connections:shares", args=[run.pk]), data)


def _share_users(client, run: Run, *people: tuple[str, str]):
    data: dict[str, object] = {"scope": "users", "user": [str(hdp_id(n)) for n, _a in people]}
    data.update({f"access_{hdp_id(n)}": a for n, a in people})
    return _post(client, run, **data)


def _in_hdp(hdp, run: Run) -> tuple[dict[int, list[int]], dict[int, list[int]]]:
    ds = ids(run)["datasource"]
    users = {u.user_id: sorted(u.permissions) for u in hdp.list_shared_users(ds)}
    tenants = {t.tenant_id: sorted(t.permissions) for t in hdp.list_shared_tenants(ds)}
    return users, tenants


def test_the_page_lists_hdp_s_shares_people_by_name_and_says_whose_account_they_read_as(client, setup):
    html = _page(client, setup)
    assert "Shared in HDP now" in html
    assert "Nobody: only you, the owner, can use this data source." in html
    assert 'value="only_me" id="scope-only-me" checked' in html  # "Only me" is the default
    assert "acme_user" in html and "acme_analyst" in html
    assert ">acme_admin<" not in html  # the owner is not offered
    assert (
        "Everyone you share with reads Autonomous REST Connector as Sandbox Person, "
        "with what that account may see." in html
    )
    # The sentence sits right above the Share button.
    assert html.index('id="reads-as"') < html.index(">Share</button>")
    assert html.index("</fieldset>", html.index('id="people"')) < html.index('id="reads-as"')


def test_the_setup_page_loads_the_section_in_place_and_links_it_without_javascript(client, setup):
    shares_url = reverse("connections:shares", args=[setup.pk])
    html = client.get(reverse("connections:setup", args=[setup.pk])).content.decode()
    assert f'hx-get="{shares_url}" hx-trigger="load"' in html and f'href="{shares_url}"' in html
    part = client.get(shares_url, headers={"HX-Request": "true"}).content.decode()
    assert part.lstrip().startswith('<section id="sharing"') and "<html" not in part
    assert "Shared in HDP now" in part


def test_no_identity_at_consent_is_said(client, setup):
    Run.objects.filter(pk=setup.pk).update(provider_subject="", provider_issuer="", provider_display_name="")
    html = _page(client, setup)
    assert "The provider did not say which account that is." in html


def test_share_with_one_person_then_change_and_remove_from_the_page(client, setup, hdp):
    response = _share_users(client, setup, ("acme_user", "query"))
    assert response.status_code == 200
    html = response.content.decode()
    assert "Saved. HDP now has exactly these shares." in html
    assert _in_hdp(hdp, setup) == ({hdp_id("acme_user"): QUERY}, {})
    assert f'id="share-user-{hdp_id("acme_user")}"' in html and "Query the data" in html
    setup.refresh_from_db()
    assert Shares.from_dict(setup.shares_set).users[0].user_id == hdp_id("acme_user")
    entry = AuditEntry.objects.filter(action="datasource.share").latest("at")
    assert entry.actor == "acme_admin" and entry.run_id == setup.pk
    assert entry.detail["outcome"] == "ok" and entry.detail["datasource"] == "Acme_Sh"
    assert entry.detail["before"] == {"users": [], "tenants": []}
    assert entry.detail["after"]["users"] == [{"userId": hdp_id("acme_user"), "permissions": QUERY}]
    assert entry.detail["calls"] == [
        {"action": "share_users", "users": [{"userId": hdp_id("acme_user"), "permissions": QUERY}]}
    ]

    member = str(hdp_id("acme_user"))
    response = _post(client, setup, kind="user", member=member, access="query_and_view", change="permissions")
    assert "Saved." in response.content.decode()
    assert _in_hdp(hdp, setup) == ({hdp_id("acme_user"): [2, 5, 6, 7]}, {})
    entry = AuditEntry.objects.filter(action="datasource.share").latest("at")
    assert entry.detail["change"] == "change" and entry.detail["before"]["users"][0]["permissions"] == QUERY

    response = _post(client, setup, kind="user", member=member, change="remove")
    assert "Nobody: only you, the owner, can use this data source." in response.content.decode()
    assert _in_hdp(hdp, setup) == ({}, {})
    assert AuditEntry.objects.filter(action="datasource.share", detail__change="remove").count() == 1


def test_a_tenant_share_replaces_the_user_shares_and_only_me_removes_it(client, setup, hdp):
    _share_users(client, setup, ("acme_user", "query"), ("acme_analyst", "query_and_view"))
    response = _post(client, setup, scope="tenant", tenant_access="query")
    html = response.content.decode()
    assert "Saved." in html and "The whole tenant Acme" in html
    assert _in_hdp(hdp, setup) == ({}, {ACME: QUERY})
    response = _post(client, setup, scope="only_me", user=[str(hdp_id("acme_user"))])  # ignored boxes
    assert "Nobody" in response.content.decode()
    assert _in_hdp(hdp, setup) == ({}, {})


def test_a_share_removed_in_hdp_directly_shows_as_gone(client, setup, hdp):
    _share_users(client, setup, ("acme_user", "query"))
    hdp.unshare_user(ids(setup)["datasource"], hdp_id("acme_user"))
    html = _page(client, setup)
    assert "Someone changed these shares in HDP since the portal last set them" in html
    assert "gone from HDP: acme_user" in html
    assert "Nobody: only you, the owner, can use this data source." in html


@pytest.mark.parametrize(
    ("data", "words"),
    [
        ({"scope": "users", "user": ["GLOBEX"], "access_GLOBEX": "query"}, "not a user of your tenant"),
        ({"scope": "users", "user": ["ACME_USER"], "access_ACME_USER": "delete"}, "Choose what they may do"),
        (
            {"scope": "users", "user": ["ACME_USER", "ACME_USER"], "access_ACME_USER": "query"},
            "A person is chosen twice",
        ),
        (
            {"scope": "tenant", "tenant_access": "query", "user": ["ACME_USER"], "access_ACME_USER": "query"},
            "HDP does not allow both at once",
        ),
        ({"scope": "tenant", "tenant_access": "everything"}, "Choose what they may do"),
        ({"scope": "users"}, "Choose at least one person"),
        ({"scope": "world"}, "Choose who can use it"),
    ],
    ids=[
        "other-tenant",
        "unknown-permission",
        "twice",
        "tenant-and-users",
        "tenant-bad-permission",
        "none",
        "scope",
    ],
)
def test_bad_input_gets_a_plain_sentence_and_nothing_changes(client, setup, hdp, data, words):
    names = {"GLOBEX": str(hdp_id("globex_admin")), "ACME_USER": str(hdp_id("acme_user"))}
    sent: dict[str, object] = {}
    for key, value in data.items():
        for placeholder, real in names.items():
            key = key.replace(placeholder, real)
        if isinstance(value, list):
            value = [names.get(v, v) for v in value]
        sent[key] = value
    response = _post(client, setup, **sent)
    html = response.content.decode()
    assert words in html.replace("&#x27;", "'")
    assert 'id="share-banner"' in html
    assert _in_hdp(hdp, setup) == ({}, {})
    entry = AuditEntry.objects.filter(action="datasource.share").latest("at")
    assert entry.detail["outcome"] == "refused"


def test_a_tenant_share_by_a_non_administrator_is_refused(client, setup, hdp):
    User.objects.filter(username="acme_admin").update(hdp_tenants_administered=[])
    html = _page(client, setup)
    assert 'id="scope-tenant"' not in html
    assert "Only an administrator of the tenant can share with the whole tenant." in html
    response = _post(client, setup, scope="tenant", tenant_access="query")
    assert "Only an administrator of the tenant can share with the whole tenant" in response.content.decode()
    assert _in_hdp(hdp, setup) == ({}, {})


@pytest.mark.parametrize("fault", ["503", "400", "timeout"])
def test_hdp_failing_half_way_says_which_shares_exist_now(client, setup, hdp, monkeypatch, fault):
    _share_users(client, setup, ("acme_user", "query"))
    # acme_user out, acme_analyst in: the removal goes through, then the POST fails (once: never retried).
    if fault == "timeout":
        real = emulator.handle

        def handle(request: httpx.Request) -> httpx.Response:
            if request.method == "POST" and request.url.path.endswith("/sharedUsers"):
                raise httpx.ReadTimeout("timed out", request=request)
            return real(request)

        monkeypatch.setattr(emulator, "handle", handle)
    else:
        faults.arm("POST", r"/api/mgmt/datasources/\d+/sharedUsers", "status", status=int(fault), times=5)
    response = _share_users(client, setup, ("acme_analyst", "query"))
    html = response.content.decode()
    assert "HDP did not complete the change, and the portal did not try again." in html
    assert "The shares listed here are the ones HDP has now." in html
    assert "Nobody: only you, the owner, can use this data source." in html  # read back: acme_user is gone
    assert _in_hdp(hdp, setup) == ({}, {})
    entry = AuditEntry.objects.filter(action="datasource.share").latest("at")
    assert entry.detail["outcome"] == "failed"
    assert entry.detail["calls"] == [
        {"action": "unshare_user", "userId": hdp_id("acme_user"), "permissions": []}
    ]
    assert entry.detail["failed"]["action"] == "share_users"
    if fault != "timeout":
        assert Fault.objects.get().remaining == 4  # armed for 5, fired once: nothing was retried


def test_a_hand_made_post_cannot_share_someone_else_s_data_source(client, setup, hdp):
    client.logout()
    sign_in(client, "globex_admin")
    response = _post(
        client,
        setup,
        scope="users",
        user=[str(hdp_id("acme_user"))],
        **{f"access_{hdp_id('acme_user')}": "query"},
    )
    assert response.status_code == 404
    assert _in_hdp(hdp, setup) == ({}, {})
    assert not AuditEntry.objects.filter(action="datasource.share").exists()


def test_an_unfinished_setup_cannot_be_shared(client, setup, hdp):
    Run.objects.filter(pk=setup.pk).update(status=Run.Status.ACTIVE)
    response = _share_users(client, setup, ("acme_user", "query"))
    assert response.status_code == 303
    assert _in_hdp(hdp, setup) == ({}, {})


def test_the_people_filter_works_without_javascript(client, setup):
    response = client.get(reverse("connections:shares", args=[setup.pk]), {"q": "analy"})
    html = response.content.decode()
    assert "acme_analyst" in html and ">acme_user<" not in html
    assert "1 person matches “analy” or is chosen." in html
