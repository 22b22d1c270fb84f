from __future__ import annotations

from django.urls import path, re_path

from portal.oauth import handoff_views, views

app_name = "oauth"
urlpatterns = [
    # <app_key> is the HDP app name ([A-Za-z0-9_], HDP's own charset): one callback path per
    # app, so a state from one app's flow is refused on another's path (SECURITY.md item 5b).
    re_path(r"^callback/(?P<app_key>[A-Za-z0-9_]{1,128})/$", views.callback, name="callback"),
    # A handoff link (issue 19). Any path segment reaches the view, so a malformed link gets the same
    # plain page as an unknown one; the path is masked in logs (portal/lib/logging.py).
    path("handoff/result/", handoff_views.owner_result, name="handoff-result"),
    path("h/<str:token>/", handoff_views.owner_page, name="handoff"),
]
