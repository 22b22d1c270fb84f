from __future__ import annotations

from django.conf import settings
from django.contrib.auth.decorators import login_not_required
from django.urls import include, path
from django.views.i18n import set_language

from portal.lib import bench

urlpatterns = [
    path("", include("portal.onboarding.urls")),
    path("accounts/", include("portal.accounts.urls")),
    path("oauth/", include("portal.oauth.urls")),
    path("support/", include("portal.support.urls")),
    path("connections/", include("portal.connections.urls")),
    path("api/", include("portal.api.urls")),
    # Django's own view (it validates `next`); the language choice works signed out too.
    path("i18n/setlang/", login_not_required(set_language), name="set_language"),
]

if settings.SANDBOX_ENABLED:
    urlpatterns += [
        path("sandbox/hdp/", include("portal.sandbox.hdp.urls")),
        path("sandbox/", include("portal.sandbox.provider.urls")),
    ]

if settings.PORTAL_BENCH_VIEWS:
    # scripts/bench.py's yardstick: a signed-in page with no template and no HDP call (portal/lib/bench.py).
    urlpatterns += [path("bench/bare/", bench.bare, name="bench-bare")]
