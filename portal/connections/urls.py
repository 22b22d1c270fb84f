from __future__ import annotations

from django.urls import path

from portal.connections import views

app_name = "connections"
urlpatterns = [
    path("notifications/", views.notifications, name="notifications"),
]
