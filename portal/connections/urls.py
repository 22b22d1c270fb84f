from __future__ import annotations

from django.urls import path

from portal.connections.views import handoff, notifications, reconnect, repair, rotate, setup, signin

app_name = "connections"
urlpatterns = [
    path("notifications/", notifications.notifications, name="notifications"),
    path("setups/<uuid:run_id>/", setup.setup, name="setup"),
    path("setups/<uuid:run_id>/check/", setup.check_now, name="check-now"),
    path("setups/<uuid:run_id>/shares/", setup.shares, name="shares"),
]

# Reconnect a completed setup into its existing OAuth profile (issue 8 item 2; views/reconnect.py).
urlpatterns += [
    path("setups/<uuid:run_id>/reconnect/", reconnect.reconnect_start, name="reconnect"),
    path("setups/<uuid:run_id>/reconnect/finish/", reconnect.reconnect_finish, name="reconnect-finish"),
]

# A completed setup's application: a rotated client secret, new scopes (issue 8 item 4; views/rotate.py).
urlpatterns += [
    path("setups/<uuid:run_id>/secret/", rotate.rotate_secret, name="rotate-secret"),
    path("setups/<uuid:run_id>/scope/", rotate.change_scope, name="change-scope"),
]

# Repair a setup whose part was deleted or unlinked in HDP (issue 8 item 3; views/repair.py).
urlpatterns += [
    path("setups/<uuid:run_id>/repair/", repair.repair_start, name="repair"),
    path("setups/<uuid:run_id>/repair/finish/", repair.repair_finish, name="repair-finish"),
    path("setups/<uuid:run_id>/repair/shares/", repair.repair_shares, name="repair-shares"),
]

# "Ask the account owner" for a reconnect or a repair (issue 19; views/handoff.py).
urlpatterns += [
    path("setups/<uuid:run_id>/handoff/state/", handoff.handoff_state, name="handoff-state"),
    path("setups/<uuid:run_id>/handoff/revoke/", handoff.handoff_revoke, name="handoff-revoke"),
    path("setups/<uuid:run_id>/handoff/<slug:purpose>/", handoff.handoff_create, name="handoff-create"),
]

# The sign-in's lifetime rule (issue 22; views/signin.py).
urlpatterns += [path("setups/<uuid:run_id>/signin-rule/", signin.change_rule, name="signin-rule")]
