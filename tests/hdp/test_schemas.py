"""Schemas tolerate HDP's quirks and never show secrets; messages cover every documented code."""

from __future__ import annotations

import pytest
from django.utils.functional import Promise
from pydantic import SecretStr, ValidationError

from portal.hdp import messages
from portal.hdp.schemas import (
    DataSource,
    DataSourceCreate,
    DataStore,
    DataStoreDetail,
    HdpUserAccount,
    OAuthApp,
    OAuthAppCreate,
    OAuthProfile,
    OAuthProfileCreate,
    OAuthProfileSummary,
    ProfileStats,
    Tenant,
    UserInfo,
    Version,
)

# docs/hdp-api.md §7, every code in the table.
DOCUMENTED_CODES = [
    "222207000",
    "222207001",
    "222207006",
    "222207002",
    "222207003",
    "222207004",
    "222207005",
    "222207007",
    "222207008",
    "222207009",
    "222207010",
    "222207011",
    "222207028",
    "222207710",
    "222207711",
    "222208573",
    "222208070",
    "222206628",
    "222206631",
    "222206633",
]


@pytest.mark.parametrize("code", DOCUMENTED_CODES)
def test_every_documented_code_has_a_lazy_plain_words_explanation(code):
    text = messages.CODE_EXPLANATIONS[code]
    assert isinstance(text, Promise)  # gettext_lazy
    assert messages.explain_code(code) == str(text)
    assert code not in str(text) and len(str(text)) > 30


def test_unknown_code_has_no_explanation():
    assert messages.explain_code("123") is None
    assert messages.explain_code(None) is None


@pytest.mark.parametrize(
    ("model", "data", "secrets"),
    [
        (OAuthApp, {"id": 1, "name": "a", "dataStore": 1, "clientSecret": "CS-SENTINEL"}, ["CS-SENTINEL"]),
        (
            OAuthProfile,
            {
                "id": 1,
                "name": "p",
                "oauthAppId": 1,
                "accessToken": "AT-SENTINEL",
                "refreshToken": "RT-SENTINEL",
            },
            ["AT-SENTINEL", "RT-SENTINEL"],
        ),
        (OAuthAppCreate, {"name": "a", "dataStore": 1, "clientSecret": "CS-SENTINEL"}, ["CS-SENTINEL"]),
        (
            OAuthProfileCreate,
            {"name": "p", "oauthAppId": 1, "accessToken": "AT-SENTINEL", "refreshToken": "RT-SENTINEL"},
            ["AT-SENTINEL", "RT-SENTINEL"],
        ),
        (
            DataSource,
            {"id": 1, "name": "d", "dataStore": 1, "options": {"Password": "PW-SENTINEL"}},
            ["PW-SENTINEL"],
        ),
        (
            DataSourceCreate,
            {"name": "d", "dataStore": 1, "options": {"Password": "PW-SENTINEL"}},
            ["PW-SENTINEL"],
        ),
    ],
)
def test_secrets_never_in_repr_or_str(model, data, secrets):
    obj = model.model_validate(data)
    for secret in secrets:
        assert secret not in repr(obj)
        assert secret not in str(obj)
        if "options" not in data:  # options are plain strings by contract; only repr hides them
            assert secret not in obj.model_dump_json()


def test_secret_fields_are_secretstr_and_readable_on_purpose():
    app = OAuthApp.model_validate({"id": 1, "name": "a", "dataStore": 1, "clientSecret": "S"})
    assert isinstance(app.client_secret, SecretStr)
    assert app.client_secret.get_secret_value() == "S"


@pytest.mark.parametrize("raw", [33, "33", " 33 "])
def test_ids_accept_int_or_numeric_string(raw):
    assert DataSource.model_validate({"id": raw, "name": "d", "dataStore": raw}).id == 33


@pytest.mark.parametrize("raw", [True, "33a", "", None, 3.5])
def test_ids_reject_non_numbers(raw):
    with pytest.raises(ValidationError):
        DataStore.model_validate({"id": raw, "name": "x"})


def test_extra_fields_are_ignored_on_responses_and_forbidden_on_bodies():
    ds = DataSource.model_validate(
        {
            "id": 1,
            "name": "d",
            "dataStore": 1,
            "sharedByAnotherUser": True,
            "isGroup": False,
            "permissions": ["2"],
        }
    )
    assert ds.permissions == [2] and ds.is_group is False
    with pytest.raises(ValidationError):
        DataSourceCreate.model_validate({"name": "d", "dataStore": 1, "surprise": 1})


def test_bodies_accept_hdp_names_or_python_names():
    a = OAuthAppCreate(name="a", dataStore=1, tenantId=71, authorizeURI="https://x")  # type: ignore[call-arg]
    b = OAuthAppCreate(name="a", data_store=1, tenant_id=71, authorize_uri="https://x")
    assert a == b
    assert b.to_hdp() == {"name": "a", "dataStore": 1, "tenantId": 71, "authorizeURI": "https://x"}


def test_option_values_become_strings():
    body = DataSourceCreate(name="d", data_store=1, options={"N": 60, "B": False, "S": "x", "E": None})
    assert body.to_hdp()["options"] == {"N": "60", "B": "false", "S": "x", "E": ""}


def test_datastore_detail_flattens_categories():
    detail = DataStoreDetail.model_validate(
        {
            "id": "54",
            "name": "Google Analytics",
            "isGroup": False,
            "authorized": True,
            "connectionType": {
                "Cloud": [
                    {
                        "name": "General",
                        "options": [
                            {"id": "OAuthProfileId", "displayName": "OAuth Profile", "required": True},
                            {"id": "DefaultView", "displayName": "Default View", "default": 0},
                        ],
                    },
                    {
                        "name": "OData",
                        "options": [
                            {
                                "id": "ODataVersion",
                                "displayName": "OData Version",
                                "type": "integer",
                                "choices": [{"id": 2, "name": "2"}, {"id": 4, "name": "4"}],
                            }
                        ],
                    },
                ],
                "Hybrid": [{"name": "General", "options": [{"id": "OAuthProfileId", "displayName": "dup"}]}],
            },
        }
    )
    assert detail.id == 54
    assert [o.id for o in detail.options] == ["OAuthProfileId", "DefaultView", "ODataVersion"]
    assert [o.category for o in detail.options] == ["General", "General", "OData"]
    assert detail.options[0].required is True and detail.options[0].display_name == "OAuth Profile"
    assert detail.options[1].default == "0"
    assert [c.id for c in detail.options[2].choices] == ["2", "4"]
    assert detail.connection_types == ["Cloud", "Hybrid"]
    assert detail.option("odataversion") is detail.options[2]
    assert detail.option("nope") is None


def test_datastore_detail_accepts_a_plain_list_of_categories():
    detail = DataStoreDetail.model_validate(
        {"id": 1, "name": "Salesforce", "connectionType": [{"name": "Security", "options": [{"id": "User"}]}]}
    )
    assert [(o.id, o.category) for o in detail.options] == [("User", "Security")]


def test_other_models_parse_documented_samples():
    assert UserInfo.model_validate(
        {"userId": 86, "passwordExpiration": "2099-12-31 00:00:00.0", "permissions": [1, 2]}
    ).permissions == [1, 2]
    stats = ProfileStats.model_validate(
        {"dataSourcesLinked": 1, "dataStoreId": "54", "dataSources": [{"id": "503", "name": "ga"}]}
    )
    assert stats.data_sources[0].id == 503 and stats.data_store_id == 54
    tenant = Tenant.model_validate(
        {"id": 71, "name": "Acme", "parentTenant": 1, "status": 1, "admins": ["4"]}
    )
    assert tenant.parent_tenant == 1 and tenant.admins == [4]
    account = HdpUserAccount.model_validate(
        {"id": 4, "userName": "acme_admin", "tenantId": 71, "tenantName": "Acme", "tenantsAdministered": [71]}
    )
    assert (account.user_name, account.tenants_administered) == ("acme_admin", [71])
    version = Version.model_validate({"HDPVersion": "4.6.1", "EvalDaysRemaining": 12})
    assert version.eval_days_remaining == "12"


def test_profile_summary_keeps_oauth_app_id_when_hdp_sends_it():
    sent = OAuthProfileSummary.model_validate({"id": "7", "name": "p", "oauthAppId": "33"})
    assert (sent.id, sent.oauth_app_id) == (7, 33)
    assert OAuthProfileSummary.model_validate({"id": 7, "name": "p", "oauthAppId": 33}).oauth_app_id == 33
    assert OAuthProfileSummary.model_validate({"id": 7, "name": "p"}).oauth_app_id is None
    with pytest.raises(ValidationError):
        OAuthProfileSummary.model_validate({"id": 7, "name": "p", "oauthAppId": "33a"})


def test_responses_are_immutable():
    ds = DataSource.model_validate({"id": 1, "name": "d", "dataStore": 1})
    with pytest.raises(ValidationError):
        ds.name = "other"  # type: ignore[misc]
