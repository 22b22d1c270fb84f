from __future__ import annotations

from django.urls import path

from portal.onboarding import views

app_name = "onboarding"
urlpatterns = [
    path("", views.runs, name="runs"),
    path("setup/new/", views.new, name="new"),
    path("setup/<uuid:run_id>/", views.resume, name="resume"),
    path("setup/<uuid:run_id>/store/", views.step_store, name="step-store"),
    path("setup/<uuid:run_id>/app/", views.step_app, name="step-app"),
    path("setup/<uuid:run_id>/authorize/", views.step_authorize, name="step-authorize"),
    path("setup/<uuid:run_id>/authorize/start/", views.authorize_start, name="authorize-start"),
    path("setup/<uuid:run_id>/profile/", views.step_profile, name="step-profile"),
    path("setup/<uuid:run_id>/datasource/", views.step_datasource, name="step-datasource"),
    path("setup/<uuid:run_id>/verify/", views.step_verify, name="step-verify"),
    path("setup/<uuid:run_id>/cancel/", views.cancel, name="cancel"),
    path("setup/<uuid:run_id>/validate/<slug:field>/", views.validate, name="validate"),
]
