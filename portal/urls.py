from __future__ import annotations

from django.conf import settings
from django.urls import include, path

urlpatterns = [
    path("", include("portal.onboarding.urls")),
    path("accounts/", include("portal.accounts.urls")),
    path("oauth/", include("portal.oauth.urls")),
    path("support/", include("portal.support.urls")),
    path("connections/", include("portal.connections.urls")),
]

if settings.SANDBOX_ENABLED:
    urlpatterns += [
        path("sandbox/hdp/", include("portal.sandbox.hdp.urls")),
        path("sandbox/", include("portal.sandbox.provider.urls")),
    ]
