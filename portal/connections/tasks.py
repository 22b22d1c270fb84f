"""Aliases of the health-check tasks at their old dotted paths (nothing in the portal imports this module).

A queued django-tasks-db row names its task by dotted path and the worker imports that path when it
runs the row. The tasks are declared where they belong (:func:`portal.connections.health.check_setup`,
:func:`portal.connections.notify.send_notification_email`, :func:`portal.connections.notify.deliver_webhook`);
rows queued before they moved there still name ``portal.connections.tasks.<name>`` and resolve here to
the same task objects. Once no such row can be left in a deployment's queue, this module can go.
"""

from __future__ import annotations

from portal.connections.health import check_setup
from portal.connections.notify import deliver_webhook, send_notification_email

__all__ = ["check_setup", "deliver_webhook", "send_notification_email"]
