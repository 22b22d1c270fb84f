from __future__ import annotations

from django.urls import path

from portal.onboarding.views import app, authorize, datasource, profile, runs, share, validate

app_name = "onboarding"
urlpatterns = [
    path("", runs.runs, name="runs"),
    path("setup/new/", runs.new, name="new"),
    path("setup/<uuid:run_id>/", runs.resume, name="resume"),
    path("setup/<uuid:run_id>/store/", runs.step_store, name="step-store"),
    path("setup/<uuid:run_id>/app/", app.step_app, name="step-app"),
    path("setup/<uuid:run_id>/authorize/", authorize.step_authorize, name="step-authorize"),
    path("setup/<uuid:run_id>/authorize/start/", authorize.authorize_start, name="authorize-start"),
    path("setup/<uuid:run_id>/authorize/handoff/", authorize.authorize_handoff, name="authorize-handoff"),
    path(
        "setup/<uuid:run_id>/authorize/handoff/state/",
        authorize.authorize_handoff_state,
        name="authorize-handoff-state",
    ),
    path(
        "setup/<uuid:run_id>/authorize/handoff/revoke/",
        authorize.authorize_handoff_revoke,
        name="authorize-handoff-revoke",
    ),
    path("setup/<uuid:run_id>/profile/", profile.step_profile, name="step-profile"),
    path("setup/<uuid:run_id>/datasource/", datasource.step_datasource, name="step-datasource"),
    path("setup/<uuid:run_id>/verify/", datasource.step_verify, name="step-verify"),
    path("setup/<uuid:run_id>/share/", share.step_share, name="step-share"),
    path("setup/<uuid:run_id>/cancel/", runs.cancel, name="cancel"),
    path("setup/<uuid:run_id>/validate/<slug:field>/", validate.validate, name="validate"),
]
