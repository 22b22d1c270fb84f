from __future__ import annotations

from django.urls import path

from portal.connections import setups, views

app_name = "connections"
urlpatterns = [
    path("notifications/", views.notifications, name="notifications"),
    path("setups/<uuid:run_id>/", setups.setup, name="setup"),
    path("setups/<uuid:run_id>/check/", setups.check_now, name="check-now"),
]
