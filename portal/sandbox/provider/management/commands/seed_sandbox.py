"""``python manage.py seed_sandbox``: seed the HDP emulator and the sandbox OAuth provider.

Idempotent and quick; prints the demo sign-ins (docs/architecture.md, "Sandbox facts"). These are
the sandbox's published demo credentials, so printing them is intended.
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandParser
from oauth2_provider.settings import oauth2_settings

from portal.sandbox.provider import seed

DEFAULT_APP_NAME = "Sandbox_app"  # the sandbox preset's default HDP application name

# (user, password, tenant, role), as in docs/architecture.md.
HDP_SIGN_INS = [
    ("d2cadmin", "d2cadmin-sandbox-pw", "System", "Administrator (12) + all"),
    ("portal_svc", "portal-svc-sandbox-pw", "System", "the portal's service account: Administrator (12)"),
    ("support", "support-sandbox-pw", "System", "support staff: 2, 11, 14, 25 (view only)"),
    ("acme_admin", "acme-admin-sandbox-pw", "Acme", "admin of Acme: 1-11, 13-16, 21, 28"),
    ("globex_admin", "globex-admin-sandbox-pw", "Globex", "admin of Globex: 1-11, 13-16, 21, 28"),
    ("acme_user", "acme-user-sandbox-pw", "Acme", "1-11 (no OAuth 28)"),
    ("d2cuser", "d2cuser-sandbox-pw", "System", "1-11"),
]


def callback_uri(app_name: str) -> str:
    """The portal's OAuth callback for an HDP app (``/oauth/callback/<app name>/``, architecture.md)."""
    return f"{settings.PORTAL_BASE_URL}/oauth/callback/{app_name}/"


class Command(BaseCommand):
    help = "Seed the sandbox HDP emulator and the sandbox OAuth provider (idempotent) and print the demo sign-ins."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--app-name",
            action="append",
            default=[],
            metavar="NAME",
            help=f"Also register the portal's callback for this HDP app name (always: {DEFAULT_APP_NAME}).",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        from portal.sandbox.hdp.seed import seed_demo  # the emulator's own seed

        seed_demo()
        names = [DEFAULT_APP_NAME, *options["app_name"]]
        app = seed.seed_provider([callback_uri(name) for name in names])

        out = self.stdout
        out.write(self.style.SUCCESS("Sandbox seeded (HDP emulator + sandbox OAuth provider)."))
        out.write("")
        out.write("Sign in to the portal with a sandbox HDP user:")
        rows = [("user", "password", "tenant", "role / permissions"), *HDP_SIGN_INS]
        widths = [max(len(row[i]) for row in rows) for i in range(3)]
        for user, password, tenant, role in rows:
            out.write(f"  {user:<{widths[0]}}  {password:<{widths[1]}}  {tenant:<{widths[2]}}  {role}")
        out.write("")
        out.write("Sandbox OAuth provider (when the portal sends you there):")
        for account in seed.ACCOUNTS:
            out.write(f"  account        {account.username} / {account.password} ({account.display_name})")
        out.write(f"  console        {settings.PORTAL_BASE_URL}/sandbox/provider/")
        out.write(f"  OpenID issuer  {oauth2_settings.OIDC_ISS_ENDPOINT}")
        out.write(f"  client id      {app.client_id}")
        out.write("  redirect URIs  " + "\n                 ".join(app.redirect_uris.split()))
        out.write("")
        out.write(f"Open {settings.PORTAL_BASE_URL}/")
