from __future__ import annotations

from django.apps import AppConfig


class ConnectionsConfig(AppConfig):
    name = "portal.connections"
    label = "connections"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from portal.connections import handoff, receivers
        from portal.oauth.handoff import handoff_finished
        from portal.onboarding import signals

        signals.run_verified.connect(receivers.record_wizard_check, dispatch_uid="connections.wizard_check")
        signals.setups_listed.connect(receivers.statuses_for_list, dispatch_uid="connections.statuses")
        handoff_finished.connect(handoff.on_finished, dispatch_uid="connections.handoff")
        signals.setups_foreseen.connect(receivers.foresight_for_list, dispatch_uid="connections.foresight")
