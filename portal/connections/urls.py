from __future__ import annotations

from django.urls import path

from portal.connections.views import notifications, reconnect, repair, rotate, setup, signin

app_name = "connections"
urlpatterns = [
    path("notifications/", notifications.notifications, name="notifications"),
    path("setups/<uuid:run_id>/", setup.setup, name="setup"),
    path("setups/<uuid:run_id>/check/", setup.check_now, name="check-now"),
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
]

# The sign-in's lifetime rule (issue 22; views/signin.py).
urlpatterns += [path("setups/<uuid:run_id>/signin-rule/", signin.change_rule, name="signin-rule")]
