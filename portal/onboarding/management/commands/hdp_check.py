"""``manage.py hdp_check --url URL --user NAME``: do the portal's assumptions hold on this HDP?

Prints one line per check (OK / WARN / FAIL, and what to do on FAIL) and exits non-zero when one
fails. Read-only unless ``--write TENANT``. The password comes from ``HDP_CHECK_PASSWORD`` or a
prompt, never from the command line (it would end up in the shell history and ``ps``).
An operator tool: its output is English, like Django's own commands.
"""

from __future__ import annotations

import getpass
import os
import ssl
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from portal.hdp import check
from portal.hdp.client import HdpClient
from portal.lib.logging import register_secret
from portal.onboarding import stores

PASSWORD_ENV = "HDP_CHECK_PASSWORD"


class Command(BaseCommand):
    help = "Check, read-only, that an HDP server matches what the portal assumes (one line per check)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--url", required=True, help="HDP base URL, e.g. https://hdp.example.com:8443")
        parser.add_argument("--user", required=True, help="the portal's service account")
        parser.add_argument("--ca-bundle", help="PEM file of the CA that signed HDP's certificate")
        parser.add_argument("--on-behalf-of", metavar="USER", help="also check ?user=USER is accepted")
        parser.add_argument(
            "--write",
            metavar="TENANT",
            help="also create one probe OAuth application in TENANT, read it back and delete it",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        password = os.environ.get(PASSWORD_ENV) or getpass.getpass(f"HDP password for {options['user']}: ")
        register_secret(password)
        url, user, bundle = options["url"], options["user"], options["ca_bundle"]
        try:
            client = HdpClient(url, user, password, transport=check.transport(bundle))
            acting = None
            if options["on_behalf_of"]:
                acting = HdpClient(
                    url,
                    user,
                    password,
                    on_behalf_of=options["on_behalf_of"],
                    transport=check.transport(bundle),
                )
        except (OSError, ssl.SSLError) as exc:
            raise CommandError(f"Cannot read --ca-bundle: {exc.strerror or exc}") from None
        failed = 0
        with client:
            for result in check.run_checks(
                client, stores=stores.KNOWN_OAUTH_STORES, acting=acting, write_tenant=options["write"]
            ):
                failed += result.status == "fail"
                line = f"{result.status.upper():4}  {result.label}: {result.detail}"
                if result.status == "fail" and result.fix:
                    line += f"\n      -> {result.fix}"
                self.stdout.write(line)
        if acting is not None:
            acting.close()
        if failed:
            raise CommandError(f"{failed} check(s) failed: the portal will not work with this HDP as it is.")
        self.stdout.write("All checks passed.")
