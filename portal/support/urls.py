from __future__ import annotations

from django.urls import path

from portal.support import views

app_name = "support"
urlpatterns = [
    path("", views.tenants, name="tenants"),
    path("reason/", views.reason, name="reason"),
    path("lapsing/", views.lapsing, name="lapsing"),
    path("tenants/<int:tenant_id>/", views.tenant, name="tenant"),
    path("tenants/<int:tenant_id>/check/", views.check_tenant, name="check-tenant"),
    path(
        "tenants/<int:tenant_id>/handoff/<uuid:link_id>/revoke/",
        views.revoke_handoff,
        name="revoke-handoff",
    ),
    path(
        "tenants/<int:tenant_id>/datasources/<int:datasource_id>/test/",
        views.test_datasource,
        name="test-datasource",
    ),
]
