"""Findings one per root cause, ordered by harm, each with the exact link to send the tenant admin (issue 8 item 5)."""

from __future__ import annotations

import html as html_lib

from django.test import Client
from django.urls import reverse

from portal.connections.status import Cause, State
from portal.oauth.models import OAuthFlow
from portal.onboarding.models import Run
from portal.support.chain import (
    AppFact,
    DataSourceFact,
    HdpFacts,
    ProfileFact,
    RecordedObject,
    RunFacts,
    build_chain,
)
from tests.helpers.support import as_user, make_app, make_datasource, make_profile, make_run, sign_in, stored

RUN_ID = "00000000-0000-0000-0000-0000000000aa"
TENANT_URL = reverse("support:tenant", args=[71])


def _run(*objects, status="completed", connection="", cause="") -> RunFacts:
    return RunFacts(
        id=RUN_ID,
        owner="acme_admin",
        status=status,
        datastore_name="Google Analytics",
        objects=tuple(RecordedObject(kind=k, name=n, remote_id=i, outcome="created") for k, n, i in objects),
        connection=connection,
        connection_cause=cause,
    )


WHOLE = HdpFacts(
    apps=(AppFact(10, "GA_app", 54),),
    profiles=(ProfileFact(20, "GA_profile", 10),),
    all_profile_names=((20, "GA_profile"),),
    datasources=(DataSourceFact(30, "GA_one", 54, "acme_admin", "20"),),
)
WHOLE_RUN = (("app", "GA_app", 10), ("profile", "GA_profile", 20), ("datasource", "GA_one", 30))


def test_a_deleted_app_is_one_finding_with_its_profile_and_data_source_under_it():
    # HDP deleted the app's profile with it and stripped OAuthProfileId from the data source.
    facts = HdpFacts(datasources=(DataSourceFact(30, "GA_one", 54, "acme_admin", ""),))
    (finding,) = build_chain(71, facts, [_run(*WHOLE_RUN)]).findings
    assert finding.code == "drift_missing" and "OAuth application GA_app (id 10)" in finding.text
    assert len(finding.affected) == 2
    assert "OAuth profile GA_profile (id 20)" in finding.affected[0]
    assert (
        "Data source GA_one was linked" in finding.affected[1] and "no OAuth profile" in finding.affected[1]
    )
    assert (finding.severity, finding.harm, finding.link, finding.run_id) == ("problem", 1, "repair", RUN_ID)
    assert "use Repair" in finding.action and "your own provider account" in finding.action


def test_a_deleted_profile_is_one_finding_naming_the_data_source_it_broke():
    facts = HdpFacts(
        apps=WHOLE.apps,
        all_profile_names=(),
        datasources=(DataSourceFact(30, "GA_one", 54, "acme_admin", ""),),
    )
    c = build_chain(71, facts, [_run(*WHOLE_RUN)])
    (finding, orphan_app) = c.findings
    assert finding.code == "drift_missing" and "OAuth profile GA_profile" in finding.text
    assert [a for a in finding.affected if "GA_one" in a] and finding.link == "repair"
    # The app left without a profile is a low note, after the broken data source.
    assert (orphan_app.code, orphan_app.severity, orphan_app.harm) == ("app_without_profile", "note", 0)


def test_data_sources_sharing_one_missing_profile_are_one_finding_counted_by_harm():
    facts = HdpFacts(
        apps=WHOLE.apps,
        profiles=WHOLE.profiles,
        all_profile_names=WHOLE.all_profile_names,
        datasources=(
            *WHOLE.datasources,
            DataSourceFact(31, "GA_two", 54, "acme_admin", "999"),
            DataSourceFact(32, "GA_three", 54, "acme_user", "999"),
        ),
    )
    c = build_chain(71, facts, [])
    (finding,) = [f for f in c.findings if f.code == "datasource_missing_profile"]
    assert "GA_two" in finding.text and "999" in finding.text
    assert len(finding.affected) == 1 and "GA_three" in finding.affected[0]
    assert finding.harm == 2


def test_findings_are_ordered_by_harm_broken_data_sources_first_notes_last():
    facts = HdpFacts(
        apps=(*WHOLE.apps, AppFact(11, "Lonely_app", 54)),
        profiles=(*WHOLE.profiles, ProfileFact(21, "Idle_profile", 10)),
        all_profile_names=((20, "GA_profile"), (21, "Idle_profile")),
        datasources=(
            *WHOLE.datasources,
            DataSourceFact(31, "GA_two", 54, "acme_admin", "998"),
            DataSourceFact(32, "GA_three", 54, "acme_admin", "999"),
            DataSourceFact(33, "GA_four", 54, "acme_admin", "999"),
        ),
    )
    stuck = RunFacts(id="stuck", owner="acme_user", status="active", datastore_name="Google Analytics",
                     objects=(RecordedObject("profile", "half", None, "unknown"),))  # fmt: skip
    codes = [(f.code, f.harm, f.severity) for f in build_chain(71, facts, [stuck]).findings]
    assert codes[:3] == [
        ("datasource_missing_profile", 2, "problem"),  # GA_three and GA_four
        ("datasource_missing_profile", 1, "problem"),  # GA_two
        ("run_stuck", 0, "stuck"),
    ]
    assert sorted(codes[3:]) == [
        ("app_without_profile", 0, "note"),
        ("profile_without_datasource", 0, "note"),
    ]


def test_a_setup_whose_check_needs_reconnect_is_a_finding_with_the_reconnect_link():
    run = _run(*WHOLE_RUN, connection=State.NEEDS_RECONNECT, cause=Cause.REFRESH_REFUSED)
    (finding,) = build_chain(71, WHOLE, [run]).findings
    assert (finding.code, finding.link, finding.harm) == ("needs_reconnect", "reconnect", 1)
    assert "needs a reconnect: The provider refused to refresh the sign-in." in finding.text
    assert finding.affected == ("data source GA_one",)
    assert "your own provider account" in finding.action


def test_a_refused_client_secret_links_to_new_client_secret():
    run = _run(*WHOLE_RUN, connection=State.BROKEN, cause=Cause.CLIENT_REFUSED)
    (finding,) = build_chain(71, WHOLE, [run]).findings
    assert (finding.code, finding.link) == ("client_refused", "rotate")


def test_a_working_setup_or_one_explained_by_the_chain_adds_no_status_finding():
    assert (
        build_chain(71, WHOLE, [_run(*WHOLE_RUN, connection=State.WORKING, cause=Cause.TEST_PASSED)]).findings
        == []
    )
    broken = HdpFacts(datasources=(DataSourceFact(30, "GA_one", 54, "acme_admin", ""),))
    run = _run(*WHOLE_RUN, connection=State.BROKEN, cause=Cause.APP_MISSING)
    assert [f.code for f in build_chain(71, broken, [run]).findings] == ["drift_missing"]


# --- the page ------------------------------------------------------------------------------------------
def _setup():
    app = make_app("Acme_GA_app")
    profile = make_profile(app.id, "Acme_GA_profile")
    ds = make_datasource("AcmeGA", profile.id)
    run = make_run(status=Run.Status.COMPLETED, objects=[
        ("app", app.name, app.id, "created"), ("profile", profile.name, profile.id, "created"),
        ("datasource", ds.name, ds.id, "created"),
    ])  # fmt: skip
    return run, profile


def _page(staff) -> str:
    response = staff.get(TENANT_URL)
    assert response.status_code == 200, response.content[:2000]
    return html_lib.unescape(response.content.decode())


def test_the_page_gives_the_exact_reconnect_link_in_a_read_only_field_with_copy(staff, hdp_log):
    run, _profile = _setup()
    stored(run, State.NEEDS_RECONNECT, Cause.REFRESH_REFUSED)
    html = _page(staff)
    link = "http://portal.test" + reverse("connections:reconnect", args=[run.pk])
    assert f'value="{link}" readonly' in html
    field_id = html.split(f'value="{link}"', 1)[0].rsplit('id="', 1)[1].split('"', 1)[0]
    assert f'data-copy="{field_id}"' in html and "hidden>Copy</button>" in html  # shown by JavaScript

    # The link works for its owner (a GET starts nothing: it shows the setup's Reconnect button)...
    owner = sign_in(Client(), "acme_admin")
    shown = owner.get(link.removeprefix("http://portal.test"))
    assert shown.status_code == 303
    assert shown["Location"] == reverse("connections:setup", args=[run.pk]) + "#reconnect"
    assert 'id="reconnect"' in owner.get(shown["Location"]).content.decode()
    # ...and never lets support consent with their own provider account.
    assert staff.get(link.removeprefix("http://portal.test")).status_code == 404
    assert staff.post(link.removeprefix("http://portal.test")).status_code == 404
    assert not OAuthFlow.objects.exists()


def test_a_deleted_profile_links_to_the_setups_repair(staff, hdp_log):
    run, profile = _setup()
    with as_user("acme_admin") as hdp_client:
        hdp_client.delete_oauth_profile(profile.id)
    html = _page(staff)
    link = "http://portal.test" + reverse("connections:setup", args=[run.pk]) + "#repair"
    assert f'value="{link}" readonly' in html
    attention = html.split('id="attention-heading"', 1)[1].split('id="chain-heading"', 1)[0]
    assert attention.count('class="finding ') == 2  # the profile (with AcmeGA under it), the orphan app note
    assert "Affected by the same cause:" in attention and "Data source AcmeGA was linked" in attention
    assert attention.index("Problem:") < attention.index("Note:")


def test_stores_show_their_names_not_ids(staff, hdp_log):
    _setup()
    make_datasource("AcmePg", datastore=1004, owner="acme_admin")
    html = _page(staff)
    assert "Google Analytics" in html.split('id="chain-heading"', 1)[1]
    assert "data store 54" not in html and "Data store id" not in html
    assert '<td data-label="Data store">Google Analytics</td>' in html
    # an id neither HDP's docs nor a setup names:
    assert '<td data-label="Data store">data store 1004</td>' in html
