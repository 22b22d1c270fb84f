"""How often something happens, in plain translated words ("once a day", "every 2 minutes")."""

from __future__ import annotations

from django.utils.translation import gettext as _
from django.utils.translation import ngettext

_DAY, _HOUR, _MINUTE = 86400, 3600, 60


def every(seconds: int) -> str:
    """``seconds`` as an interval in words, in the largest whole unit: "once a day", "every 6 hours",
    "every 2 minutes", "every 90 seconds"."""
    seconds = max(1, int(seconds))
    if seconds % _DAY == 0:
        n = seconds // _DAY
        return _("once a day") if n == 1 else ngettext("every %(n)d day", "every %(n)d days", n) % {"n": n}
    if seconds % _HOUR == 0:
        n = seconds // _HOUR
        return (
            _("once an hour") if n == 1 else ngettext("every %(n)d hour", "every %(n)d hours", n) % {"n": n}
        )
    if seconds % _MINUTE == 0:
        n = seconds // _MINUTE
        return (
            _("every minute")
            if n == 1
            else ngettext("every %(n)d minute", "every %(n)d minutes", n) % {"n": n}
        )
    return (
        _("every second")
        if seconds == 1
        else ngettext("every %(n)d second", "every %(n)d seconds", seconds) % {"n": seconds}
    )
