"""URLconf for the OAuth tests.

The callback redirects to ``onboarding:step-authorize`` / ``onboarding:step-profile`` and renders
``base.html`` (which links ``onboarding:runs`` and ``accounts:logout``). Those views belong to other
parts of the portal; when they exist, the real ``portal.urls`` is used, otherwise tiny stubs.
"""

from __future__ import annotations

from django.http import HttpResponse
from django.shortcuts import render
from django.urls import NoReverseMatch, include, path, reverse

NEEDED = {
    "onboarding:runs": {},
    "onboarding:step-authorize": {"run_id": "00000000-0000-0000-0000-000000000000"},
    "onboarding:step-profile": {"run_id": "00000000-0000-0000-0000-000000000000"},
    "accounts:login": {},
    "accounts:logout": {},
    "oauth:callback": {"app_key": "x"},
}


def _real_urls_complete() -> bool:
    try:
        for name, kwargs in NEEDED.items():
            reverse(name, urlconf="portal.urls", kwargs=kwargs or None)
    except NoReverseMatch:
        return False
    return True


def _stub(request, **kwargs):
    return render(request, "base.html")


def _login(request):
    return HttpResponse("login page")


if _real_urls_complete():
    from portal.urls import urlpatterns as urlpatterns
else:
    onboarding = (
        [
            path("", _stub, name="runs"),
            path("runs/<uuid:run_id>/authorize/", _stub, name="step-authorize"),
            path("runs/<uuid:run_id>/profile/", _stub, name="step-profile"),
        ],
        "onboarding",
    )
    accounts = ([path("login/", _login, name="login"), path("logout/", _stub, name="logout")], "accounts")
    urlpatterns = [
        path("", include(onboarding)),
        path("accounts/", include(accounts)),
        path("oauth/", include("portal.oauth.urls")),
    ]
