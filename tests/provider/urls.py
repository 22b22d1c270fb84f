"""Only the sandbox provider's routes, mounted where portal/urls.py mounts them.

These tests don't depend on the rest of the portal's URLconf being importable.
"""

from __future__ import annotations

from django.urls import include, path

urlpatterns = [path("sandbox/", include("portal.sandbox.provider.urls"))]
