from __future__ import annotations

from django.urls import path

from portal.sandbox.hdp import views

app_name = "hdp_emulator"
urlpatterns = [
    path("<path:rest>", views.api, name="api"),
]
