from __future__ import annotations

from django.urls import reverse

from portal.onboarding.models import Run
from portal.sandbox.hdp.models import DataSource
from tests.helpers.wizard import HTMX, hdp_posts, run_at_datasource


def _url(run):
    return reverse("onboarding:step-datasource", args=[run.pk])


def test_it_renders_the_store_options_but_not_the_profile_link(acme, hdp_log):
    run = run_at_datasource(acme)
    hdp_log.clear()
    html = acme.get(_url(run)).content.decode()
    assert 'name="opt_DefaultView"' in html
    assert 'name="opt_ODataVersion"' in html and "<select" in html
    assert "OAuthProfileId" not in html
    assert hdp_log == []  # option definitions come from the run, not from HDP


def test_it_creates_the_data_source_linked_to_the_profile(acme, hdp_log):
    run = run_at_datasource(acme)
    response = acme.post(_url(run), {"name": "AcmeGA", "opt_DefaultView": "1234", "opt_ODataVersion": "4"})
    assert response.status_code == 303
    ds = DataSource.objects.get(name="AcmeGA")
    run.refresh_from_db()
    assert ds.options["OAuthProfileId"] == str(run.remote_id("profile"))
    assert ds.options["DefaultView"] == "1234"


def test_salesforce_gets_its_oauth_method_fixed_in_words_and_no_back_end_password(acme, hdp_log):
    run = run_at_datasource(acme, "1:sandbox")
    html = acme.get(_url(run)).content.decode()
    assert 'name="opt_AuthenticationMethod"' not in html
    assert "AuthenticationMethod=oauth2.0" not in html  # an option name is not for the admin
    assert "The data source signs in with OAuth" in html
    assert 'name="opt_Password"' not in html and "Password for the back end" not in html
    assert 'name="opt_User"' not in html
    response = acme.post(_url(run), {"name": "AcmeSF", "opt_Password": "backend-pw-sentinel"})
    assert response.status_code == 303
    sf = DataSource.objects.get(name="AcmeSF")
    assert sf.options["AuthenticationMethod"] == "oauth2.0"
    assert "Password" not in sf.options  # a posted back-end password is not taken


def test_password_type_options_are_masked_sent_to_hdp_and_not_kept(acme, hdp_log):
    run = run_at_datasource(acme, "1:sandbox")
    html = acme.get(_url(run)).content.decode()
    assert 'name="opt_SecurityToken"' in html and 'type="password"' in html
    response = acme.post(_url(run), {"name": "AcmeSF", "opt_SecurityToken": "backend-pw-sentinel"})
    assert response.status_code == 303
    sf = DataSource.objects.get(name="AcmeSF")
    assert sf.options["SecurityToken"] == "backend-pw-sentinel"  # HDP has it...
    run.refresh_from_db()
    assert "SecurityToken" not in run.ds_options  # ...the portal does not keep it
    assert "backend-pw-sentinel" not in acme.get(_url(run)).content.decode()


def test_bad_names_are_explained_and_input_kept(acme, hdp_log):
    run = run_at_datasource(acme)
    hdp_log.clear()
    for name, words in (
        ("1abc", "must start with a letter"),
        ("Acme GA", "no spaces"),
        ("x" * 129, "at most"),
    ):
        response = acme.post(_url(run), {"name": name, "opt_DefaultView": "kept-view"}, **HTMX)
        html = response.content.decode()
        assert response.status_code == 200
        assert words in html, name
        assert 'value="kept-view"' in html
    assert hdp_posts(hdp_log, "/datasources") == []


def test_a_name_another_active_setup_is_using_is_refused(acme, hdp_log):
    run = run_at_datasource(acme)
    other = Run.objects.create(owner=run.owner, tenant_id=71, tenant_name="Acme", datastore_id=54)
    Run.objects.filter(pk=other.pk).update(ds_name="AcmeGA")
    response = acme.post(_url(run), {"name": "AcmeGA"})
    html = response.content.decode()
    assert 'id="id_name-error"' in html and "Another onboarding" in html
    assert not DataSource.objects.filter(name="AcmeGA").exists()


def test_required_options_are_honoured(acme, hdp_log):
    run = run_at_datasource(acme, "76:sandbox")  # Snowflake: AccountName and Warehouse required
    response = acme.post(_url(run), {"name": "AcmeSnow"})
    html = response.content.decode()
    assert 'id="id_opt_AccountName-error"' in html
    assert not DataSource.objects.exists()


def test_backend_password_is_never_written_to_the_run_even_while_hdp_is_called(acme, hdp_log):
    """The password reaches HDP in the create body only; the run row never holds it, not even
    for the length of the request (a crash mid-call must not leave it in the database)."""
    from unittest.mock import patch

    from portal.hdp.client import HdpClient

    run = run_at_datasource(acme, "1:sandbox")
    seen_in_db: list[dict] = []
    real = HdpClient.create_datasource

    def spy(self, body):  # the moment the engine calls HDP, after it recorded the run's inputs
        seen_in_db.append(dict(Run.objects.get(pk=run.pk).ds_options))
        return real(self, body)

    with patch.object(HdpClient, "create_datasource", spy):
        response = acme.post(_url(run), {"name": "AcmeSF2", "opt_SecurityToken": "backend-pw-sentinel-2"})
    assert response.status_code == 303
    assert seen_in_db and all("SecurityToken" not in options for options in seen_in_db)
    assert DataSource.objects.get(name="AcmeSF2").options["SecurityToken"] == "backend-pw-sentinel-2"
