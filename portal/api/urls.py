"""``/api/v1/`` (the API, its schema and docs) and ``/api/tokens/`` (the signed-in page)."""

from __future__ import annotations

from django.contrib.auth.decorators import login_not_required
from django.urls import path, re_path

from portal.api import views
from portal.api.api import api

_patterns, _app, _namespace = api.urls
# The API authenticates each request by its token (portal/api/auth.py), not the session: the
# sign-in redirect of LoginRequiredMiddleware must not answer for it.
for _pattern in _patterns:
    _view = getattr(_pattern, "callback", None)
    if _view is not None:
        login_not_required(_view)

urlpatterns = [
    path("tokens/", views.tokens_page, name="api-tokens"),
    path("tokens/<int:token_id>/revoke/", views.revoke, name="api-token-revoke"),
    path("v1/", (_patterns, _app, _namespace)),
    # Anything else under /api/v1/ is a problem+json 404, not the HTML page.
    re_path(r"^v1/.*$", login_not_required(views.api_not_found)),
]
