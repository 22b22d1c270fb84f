"""``manage.py hdp_emulator --port N``: serve only the HDP emulator, at the root of the port."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandParser

from portal.sandbox.hdp.wsgi import build_server


class Command(BaseCommand):
    help = "Serve the sandbox HDP emulator alone (HDP base URL http://HOST:PORT)."
    # It serves no Django URLs, so it need not wait for the rest of the project to pass URL checks.
    requires_system_checks: list[str] = []

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--port", type=int, default=8090)
        parser.add_argument("--host", default="127.0.0.1")

    def handle(self, *args: Any, **options: Any) -> None:
        host, port = options["host"], options["port"]
        server = build_server(host, port)
        self.stdout.write(
            f"HDP emulator on http://{host}:{port} (set HDP_BASE_URL to it).\n"
            "State lives in the portal database: run `manage.py migrate` and seed it first "
            "(python manage.py shell -c 'from portal.sandbox.hdp.seed import seed_demo; seed_demo()'). Try: "
            f"curl -u d2cadmin:d2cadmin-sandbox-pw http://{host}:{port}/api/mgmt/oauthapps"
        )
        try:
            server.serve_forever()
        except KeyboardInterrupt:
            pass
        finally:
            server.server_close()
