"""``manage.py api_token create|list|revoke``: personal API tokens for operators (docs/api.md).

``create`` prints the token once (stdout, nothing else on the line); it is never shown again.
The person must have signed in to the portal once (their HDP tenants and permissions are read then).
"""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from portal.accounts.models import User
from portal.api import tokens
from portal.api.models import ApiToken
from portal.audit.models import AuditEntry
from portal.support.access import is_support_staff


class Command(BaseCommand):
    help = "Create, list or revoke personal API tokens."

    def add_arguments(self, parser: CommandParser) -> None:
        sub = parser.add_subparsers(dest="action", required=True)
        create = sub.add_parser("create", help="Make a token and print it once.")
        create.add_argument("--user", required=True, help="The HDP user name.")
        create.add_argument("--name", default="", help="What the token is for (default: 'cli').")
        create.add_argument("--scope", action="append", required=True, choices=tokens.SCOPES)
        create.add_argument("--expires-in-days", type=int, default=90)
        listing = sub.add_parser("list", help="A person's tokens (never the tokens themselves).")
        listing.add_argument("--user", required=True)
        revoke = sub.add_parser("revoke", help="Revoke a token by its id (from list).")
        revoke.add_argument("id", type=int)

    def handle(self, *args: Any, **options: Any) -> None:
        action = options["action"]
        if action == "revoke":
            row = ApiToken.objects.filter(pk=options["id"]).first()
            if row is None:
                raise CommandError("No token has that id.")
            tokens.revoke(row)
            AuditEntry.record("manage.py", "api_token.revoke", token=row.pk)
            self.stdout.write(f"revoked {row.pk}")
            return
        person = User.objects.filter(username=str(options["user"]).lower()).first()
        if person is None or person.is_sandbox_provider_account:
            raise CommandError("No such person: they must sign in to the portal once first.")
        if action == "list":
            for row in ApiToken.objects.filter(user=person):
                state = "revoked" if row.revoked_at else ("active" if row.active else "expired")
                self.stdout.write(
                    f"{row.pk}\t{row.name}\t{row.prefix}...\t{' '.join(row.scopes)}\t"
                    f"created {row.created_at:%Y-%m-%d}\texpires {row.expires_at:%Y-%m-%d}\t{state}"
                )
            return
        try:
            row, token = tokens.create(
                person,
                name=options["name"] or "cli",
                scopes=list(options["scope"]),
                days=int(options["expires_in_days"]),
                is_support=is_support_staff(person),
            )
        except tokens.TokenRefused as exc:
            raise CommandError(str(exc)) from None
        AuditEntry.record("manage.py", "api_token.create", token=row.pk, user=person.username)
        self.stdout.write(token)
