from __future__ import annotations

from django.urls import path

from portal.connections import setups, views, views_reconnect, views_repair, views_rotate

app_name = "connections"
urlpatterns = [
    path("notifications/", views.notifications, name="notifications"),
    path("setups/<uuid:run_id>/", setups.setup, name="setup"),
    path("setups/<uuid:run_id>/check/", setups.check_now, name="check-now"),
]

# Reconnect a completed setup into its existing OAuth profile (issue 8 item 2; views_reconnect.py).
urlpatterns += [
    path("setups/<uuid:run_id>/reconnect/", views_reconnect.reconnect_start, name="reconnect"),
    path("setups/<uuid:run_id>/reconnect/finish/", views_reconnect.reconnect_finish, name="reconnect-finish"),
]

# A completed setup's application: a rotated client secret, new scopes (issue 8 item 4; views_rotate.py).
urlpatterns += [
    path("setups/<uuid:run_id>/secret/", views_rotate.rotate_secret, name="rotate-secret"),
    path("setups/<uuid:run_id>/scope/", views_rotate.change_scope, name="change-scope"),
]

# Repair a setup whose part was deleted or unlinked in HDP (issue 8 item 3; views_repair.py).
urlpatterns += [
    path("setups/<uuid:run_id>/repair/", views_repair.repair_start, name="repair"),
    path("setups/<uuid:run_id>/repair/finish/", views_repair.repair_finish, name="repair-finish"),
]
