"""The sandbox's sign-in passwords, read from the seeds: tests import them from here, never spell them out.

docs/architecture.md ("Sandbox facts") documents them; tests/sandbox/hdp/test_seed.py checks the two agree.
"""

from __future__ import annotations

from portal.sandbox.hdp.seed import USERS
from portal.sandbox.provider import seed as provider_seed

#: HDP emulator user -> password (the portal's sign-in and HDP's basic auth both use it).
PASSWORDS: dict[str, str] = {name: password for name, password, *_ in USERS}

#: The portal's HDP service account.
SVC_USER = "portal_svc"
SVC_PASSWORD = PASSWORDS[SVC_USER]

#: The sandbox OAuth provider's test account.
PROVIDER_USER = provider_seed.ACCOUNT_USERNAME
PROVIDER_PASSWORD = provider_seed.ACCOUNT_PASSWORD
