from __future__ import annotations

from django.urls import re_path

from portal.oauth import views

app_name = "oauth"
urlpatterns = [
    # <app_key> is the HDP app name ([A-Za-z0-9_], HDP's own charset): one callback path per
    # app, so a state from one app's flow is refused on another's path (SECURITY.md item 5b).
    re_path(r"^callback/(?P<app_key>[A-Za-z0-9_]{1,128})/$", views.callback, name="callback"),
]
