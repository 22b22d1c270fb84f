"""The root of the suite: settings for every test, and the shared fixture modules of tests/helpers/.

Fixtures used by more than one test module live in ``tests/helpers/`` and are loaded here with
``pytest_plugins`` (pytest accepts it only in the root conftest). A fixture used by one area only may live
in that area's conftest.py. No test module imports another test module or a conftest.py
(tests/test_layout_of_tests.py checks it), and one fixture name means one thing everywhere.
"""

from __future__ import annotations

import functools
import os
from pathlib import Path

import pytest

pytest_plugins = [
    "tests.helpers.logs",  # console_at_debug
    "tests.helpers.oauth",  # public_dns
    "tests.helpers.wizard",  # hdp_log, acme, globex: the portal's views against the emulator in-process
    "tests.helpers.engine",  # hdp_client, admin_user, make_run: the step engine's
    "tests.helpers.connections",  # hdp, admin_client, provider, setup: completed setups
    "tests.helpers.support",  # staff, staff_no_reason: the support console's
    "tests.helpers.e2e",  # e2e_portal, portal_url: the live portal reaching the emulator over HTTP
    "tests.helpers.spans",  # spans: tracing on, every ended span kept in memory
]

# Sync Playwright and the Django ORM share the test thread (docs/testing.md).
os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")

CHROMIUM = os.environ.get("PORTAL_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


#: Fixtures through which a test reaches the database (pytest-django's; ``live_server`` flushes it).
_DATABASE_FIXTURES = frozenset(
    {"db", "transactional_db", "live_server", "django_db_reset_sequences", "django_db_serialized_rollback"}
)


def pytest_collection_modifyitems(config, items):
    """Mark what each test needs, for scripts/test.sh's two passes (docs/testing.md "Two databases"):
    ``browser``: it drives Chromium (the ``browser`` fixture, also behind ``page``); ``database``: it may
    use the database (pytest-django blocks every other test's database access, so the rest cannot);
    ``sandbox``: a test of tests/sandbox/ (the HDP emulator and the sandbox provider, which exist for
    ``make run`` on SQLite), unless it needs PostgreSQL."""
    sandbox = Path(__file__).resolve().parent / "sandbox"
    for item in items:
        names = set(getattr(item, "fixturenames", ()))
        if "browser" in names and not item.get_closest_marker("browser"):
            item.add_marker(pytest.mark.browser)
        if item.get_closest_marker("django_db") or names & _DATABASE_FIXTURES:
            item.add_marker(pytest.mark.database)
        if item.path.is_relative_to(sandbox) and not item.get_closest_marker("postgres"):
            item.add_marker(pytest.mark.sandbox)


@pytest.fixture(scope="session")
def browser_type_launch_args(browser_type_launch_args):
    """Debian's Chromium, never a Playwright browser download."""
    return {**browser_type_launch_args, "executable_path": CHROMIUM, "args": CHROMIUM_ARGS}


@pytest.fixture(autouse=True, scope="session")
def _cheap_crypto_for_the_suite():
    """Two costs that say nothing about the code under test, paid once per test before:

    * Django's default password hash (PBKDF2, 1,000,000 iterations, about 0.3 s of CPU) for each person a
      test creates: tests hash with MD5 first (PBKDF2 stays listed, so the sandbox's hashes still verify);
    * a new RSA key for the sandbox provider's id_tokens in every test that seeds it (the table is emptied
      between tests): one key per test process, stored by the same code (portal/sandbox/provider/keys.py);
    * the sandbox's own PBKDF2 hash (10,000 iterations, about 6 ms) of each seeded HDP and provider password,
      six of them per test that seeds both: each password is hashed once per test process (same salt
      thereafter), by the same code (portal/sandbox/hdp/passwords.py).

    Production settings and the code paths are unchanged; tests/sandbox checks the production hashing."""
    from django.test import override_settings

    from portal.sandbox.hdp import passwords as sandbox_passwords
    from portal.sandbox.provider import keys

    hashing = override_settings(
        PASSWORD_HASHERS=[
            "django.contrib.auth.hashers.MD5PasswordHasher",
            "django.contrib.auth.hashers.PBKDF2PasswordHasher",
        ]
    )
    hashing.enable()
    generate, pem = keys._generate_pem, keys._generate_pem()
    keys._generate_pem = lambda: pem
    make = sandbox_passwords.make
    sandbox_passwords.make = functools.cache(make)
    yield
    sandbox_passwords.make = make
    keys._generate_pem = generate
    hashing.disable()


@pytest.fixture(autouse=True)
def _one_rate_limit_window_per_test(monkeypatch):
    """The rate limits count in fixed windows (a minute each): a test that makes eleven requests across a
    minute's end saw its count start again and failed on a slow machine. Each test counts in one window;
    tests/ratelimit/test_limiter.py checks the real windows."""
    from portal.ratelimit import limiter

    monkeypatch.setattr(limiter, "window_of", lambda now, window_seconds: 0)


@pytest.fixture(autouse=True)
def _default_language_after_each_test():
    """A request through LocaleMiddleware leaves its language active in the thread (the test client
    does not reset it): the next test starts in the default language, not in the last page's."""
    yield
    from django.utils import translation

    translation.deactivate()


@pytest.fixture(autouse=True)
def _empty_cache_after_committing_tests(request, django_db_blocker):
    """Django's cache is a database table (settings.CACHES) that ``flush`` leaves alone: a test whose
    writes are committed (transactional, live server) empties it, so the next test reads HDP afresh."""
    yield
    if {"transactional_db", "live_server"} & set(request.fixturenames):
        from django.core.cache import cache

        with django_db_blocker.unblock():
            cache.clear()
