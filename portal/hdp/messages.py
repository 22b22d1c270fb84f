"""Plain-words explanations of HDP failures, each with the next action (docs/hdp-api.md §7).

HDP's own error text can echo input and is not written for the person using the portal, so the
portal shows these sentences instead. Every documented code has one; status classes and
transport failures have one too. Strings are lazy so they render in the request's language.
"""

from __future__ import annotations

from django.utils.translation import gettext_lazy as _

# Codes meaning "the id you named does not exist" (mapped to HdpNotFound whatever the status).
NOT_FOUND_CODES = frozenset({"222207004", "222207011", "222207710", "222207711", "222208573"})

# Code of a data source connection test that reached the back end and failed (a result, not an error).
TEST_FAILED_CODE = "222207003"

CODE_EXPLANATIONS = {
    "222207000": _("HDP could not update the data source just now. Try again in a few minutes."),
    "222207001": _("HDP could not read the data source just now. Try again in a few minutes."),
    "222207006": _("HDP could not delete the data source just now. Try again in a few minutes."),
    "222207002": _(
        "HDP does not know one of the data source options that were sent. Check the options "
        "this data store offers on this HDP server."
    ),
    "222207003": _(
        "HDP could not connect to the data source with these settings. Check the credentials "
        "and that the OAuth authorization is still valid, then test again."
    ),
    "222207004": _("HDP has no data source with that id. It may have been deleted in HDP."),
    "222207005": _("The connection type must be Cloud or Hybrid (Group for a data source group)."),
    "222207007": _(
        "HDP could not read the request the portal sent. This is a portal problem: report it to the portal team."
    ),
    "222207008": _("The connection type of an existing data source cannot be changed."),
    "222207009": _("The OData map setting must be refresh, recreate or none."),
    "222207010": _("The connection type is missing. This is a portal problem: report it to the portal team."),
    "222207011": _("HDP has no data source with that id. It may have been deleted in HDP."),
    "222207028": _(
        "HDP needs a user for this connection test. Enter the data source's user name and password."
    ),
    "222207710": _(
        "HDP has no OAuth profile with that id. It may have been deleted in HDP, or its OAuth "
        "application was deleted (which deletes its profiles)."
    ),
    "222207711": _("HDP has no OAuth application with that id. It may have been deleted in HDP."),
    "222208573": _("HDP has no tenant with that id. It may have been deleted in HDP."),
    "222208070": _("HDP could not report its version. Check that the HDP server is healthy."),
    "222206628": _(
        "HDP refused an OAuth client application setting (HDP as OAuth server). Ask your HDP administrator."
    ),
    "222206631": _(
        "HDP refused an OAuth client application setting (HDP as OAuth server). Ask your HDP administrator."
    ),
    "222206633": _(
        "HDP refused an OAuth client application setting (HDP as OAuth server). Ask your HDP administrator."
    ),
}

# Best-effort hints for HdpRejected.field_errors, keyed by HDP field name.
FIELD_HINTS = {
    "name": _(
        "HDP refused this name. Use only letters, digits and _ (data sources: start with a letter; - is "
        "also allowed), and pick a name not already in use."
    ),
    "dataStore": _("HDP refused this data store. Pick one from the list this HDP server offers."),
    "connectionType": _("The connection type must be Cloud or Hybrid."),
    "options": _("HDP refused one of the data source options. Check the options this data store offers."),
    "tenantId": _("HDP refused this tenant. Pick a tenant you administer."),
    "oauthAppId": _("HDP refused this OAuth application. Pick an application available to your tenant."),
    "clientId": _("HDP refused the client id. Copy it again from the provider's app registration."),
    "clientSecret": _("HDP refused the client secret. Copy it again from the provider's app registration."),
    "authorizeURI": _("HDP refused the authorization URI. Check the provider's documentation."),
    "tokenURI": _("HDP refused the token URI. Check the provider's documentation."),
    "scope": _("HDP refused the scope. Separate scopes with spaces."),
    "refreshToken": _("HDP needs a refresh token. Authorize again and ask for offline access."),
    "accessToken": _("HDP refused the access token. Authorize again."),
    "description": _("HDP refused the description. Shorten it and try again."),
    "userId": _("HDP needs a user for this connection test."),
    "map": _("The OData map setting must be refresh, recreate or none."),
}

# Codes whose field is known without reading HDP's text.
CODE_FIELDS = {
    "222207002": "options",
    "222207005": "connectionType",
    "222207008": "connectionType",
    "222207010": "connectionType",
    "222207028": "userId",
    "222207009": "map",
}


def explain_code(code: str | None) -> str | None:
    if code is None:
        return None
    text = CODE_EXPLANATIONS.get(code)
    return None if text is None else str(text)


def explain_unauthorized(*, as_person: bool) -> str:
    if as_person:
        return str(_("HDP did not accept that user name and password. Check them and try again."))
    return str(
        _(
            "The portal's HDP service account was refused — ask your HDP administrator to check "
            "HDP_SERVICE_USER/password."
        )
    )


def probable_permission(method: str, path: str) -> str:
    """Name the HDP permission most likely missing for a 403 on ``method path`` (docs/hdp-api.md §2-§6)."""
    if path.startswith("/api/admin/tenants"):
        return str(_("TenantAPI (25) or Administrator (12)"))
    if path.startswith("/api/admin/users"):
        return str(_("ViewUsers (14) or Administrator (12)"))
    if path.startswith("/api/mgmt/oauthapps"):
        if method == "GET":
            return str(_("MgmtAPI (11)"))
        return str(_("OAuth (28) and MgmtAPI (11), with administrator rights on the application's tenant"))
    if "/sharedUsers" in path or "/sharedTenants" in path:
        # docs/hdp-api.md §12: sharing needs the owner's data-source permissions ([U] which ones for
        # a create or an update), and only administrators share with a tenant.
        if method == "DELETE":
            return str(_("DeleteDataSource (4) and MgmtAPI (11)"))
        if method == "GET":
            return str(_("ViewDataSource (2) and MgmtAPI (11)"))
        if "/sharedTenants" in path:
            return str(
                _(
                    "ModifyDataSource (3) and MgmtAPI (11), with administrator rights on the tenant shared with"
                )
            )
        return str(_("ModifyDataSource (3) and MgmtAPI (11)"))
    if path.startswith(("/api/mgmt/oauthprofiles", "/api/mgmt/datasources")):
        if path.endswith("/test"):
            return str(_("ViewDataSource (2) and MgmtAPI (11)"))
        return str(
            {
                "POST": _("CreateDataSource (1) and MgmtAPI (11)"),
                "PUT": _("ModifyDataSource (3) and MgmtAPI (11)"),
                "DELETE": _("DeleteDataSource (4) and MgmtAPI (11)"),
            }.get(method, _("ViewDataSource (2) and MgmtAPI (11)"))
        )
    return str(_("MgmtAPI (11)"))


def explain_forbidden(method: str, path: str, *, on_behalf_of: str | None) -> str:
    text = str(
        _(
            "HDP refused this operation: the acting account probably lacks the permission "
            "%(permission)s. Ask your HDP administrator to grant it."
        )
        % {"permission": probable_permission(method, path)}
    )
    if on_behalf_of:
        text += " " + str(
            _(
                "Acting for another user also needs Administrator (12), or OnBehalfOf (21) plus "
                "administrator rights on that user's tenant."
            )
        )
    return text


def explain_not_found() -> str:
    return str(_("HDP has no such object. It may have been deleted in HDP; refresh and try again."))


def explain_rejected(status: int) -> str:
    return str(_("HDP refused the request. Check the values entered and try again."))


def explain_server_error(status: int) -> str:
    return str(
        _(
            "HDP had an internal problem. Try again in a few minutes; if it "
            "persists, ask your HDP administrator to check the HDP server logs."
        )
    )


def explain_redirect(status: int) -> str:
    return str(
        _(
            "HDP answered with a redirect instead of a result. The portal's HDP address may point at a "
            "login page or need https://: ask your portal operator to check HDP_BASE_URL."
        )
    )


def explain_connect(host: str) -> str:
    return str(
        _(
            "HDP at %(host)s could not be reached. Check that HDP is running and that HDP_BASE_URL "
            "and the network allow the connection."
        )
        % {"host": host}
    )


def explain_connect_timeout(host: str) -> str:
    return str(
        _(
            "HDP at %(host)s did not accept the connection in time. It may be down or overloaded; "
            "try again in a few minutes."
        )
        % {"host": host}
    )


def explain_pool_timeout(host: str) -> str:
    return str(
        _("The portal had no free connection to HDP at %(host)s in time. Try again in a moment.")
        % {"host": host}
    )


def explain_timeout(host: str) -> str:
    return str(
        _(
            "HDP at %(host)s did not answer in time. The change may or may not have been made; "
            "the portal checks before trying again."
        )
        % {"host": host}
    )


def explain_dropped(host: str) -> str:
    return str(
        _(
            "The connection to HDP at %(host)s broke before the answer arrived. The change may or "
            "may not have been made; the portal checks before trying again."
        )
        % {"host": host}
    )


def explain_tls(host: str) -> str:
    return str(
        _(
            "The portal could not set up a secure connection to HDP at %(host)s. Check HDP_CA_BUNDLE "
            "and the server's certificate."
        )
        % {"host": host}
    )


def explain_unreadable(detail: str) -> str:
    return str(
        _(
            "HDP answered in a form the portal does not understand (%(detail)s). Check the HDP "
            "version; report it to the portal team if it persists."
        )
        % {"detail": detail}
    )


def explain_test_failed() -> str:
    return str(CODE_EXPLANATIONS[TEST_FAILED_CODE])
