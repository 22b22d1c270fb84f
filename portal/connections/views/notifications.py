"""A person's notification settings: e-mails on a change of a connection's status, on or off."""

from __future__ import annotations

from django.conf import settings
from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods

from portal.connections.forms import NotificationPreferenceForm
from portal.connections.models import NotificationPreference
from portal.lib.timewords import every


@require_http_methods(["GET", "POST"])
def notifications(request: HttpRequest) -> HttpResponse:
    user_id = request.user.pk
    assert user_id is not None  # LoginRequiredMiddleware: only signed-in people get here
    pref = NotificationPreference.objects.filter(user_id=user_id).first() or NotificationPreference(
        user_id=user_id, email=getattr(request.user, "email", "") or ""
    )
    form = NotificationPreferenceForm(request.POST or None, instance=pref)
    if request.method == "POST" and form.is_valid():
        form.save()
        messages.success(request, _("Your notification settings are saved."))
        return redirect("connections:notifications")
    # How often the background checks run: the setting that schedules them (portal/connections/health.py).
    context = {"form": form, "interval": every(settings.HEALTH_CHECK_INTERVAL)}
    return render(request, "connections/notifications.html", context, status=400 if form.errors else 200)
