"""Which webhook addresses the portal accepts, as docs/deploy.md "Health-check webhook" says.

Production: ``https://``, a host name, port 443. Outside production ``OAUTH_ALLOW_LOOPBACK`` (on by
default there) also lets a loopback address through as given, plain http and any port included,
with no other switch; ``HEALTH_WEBHOOK_ALLOW_PRIVATE`` lets any http(s) address through.
"""

from __future__ import annotations

import pytest
from django.core.exceptions import ValidationError

from portal.connections.notify import checked_webhook_url

PUBLIC = "https://hooks.example.com/portal"
LOOPBACK = ["http://127.0.0.1:9000/hook", "http://localhost:9000/hook", "http://[::1]:9000/hook"]
REFUSED_EVERYWHERE_BUT_PRIVATE = [
    "http://hooks.example.com/portal",  # plain http to a real host
    "https://hooks.example.com:8443/portal",  # not port 443
    "https://10.0.0.5/hook",  # an IP literal (and a private one)
    "http://192.168.1.20:8080/hook",
]


@pytest.fixture
def production(settings):
    settings.OAUTH_ALLOW_LOOPBACK = False  # production refuses to start with either switch on
    settings.HEALTH_WEBHOOK_ALLOW_PRIVATE = False


@pytest.fixture
def development(settings):
    settings.OAUTH_ALLOW_LOOPBACK = True  # the default outside production
    settings.HEALTH_WEBHOOK_ALLOW_PRIVATE = False


def test_production_takes_https_to_a_host_name_on_port_443_only(production):
    assert checked_webhook_url(PUBLIC) == PUBLIC
    for url in [*LOOPBACK, *REFUSED_EVERYWHERE_BUT_PRIVATE]:
        with pytest.raises(ValidationError):
            checked_webhook_url(url)


def test_development_also_takes_a_plain_http_loopback_address_on_any_port(development):
    for url in [PUBLIC, *LOOPBACK]:
        assert checked_webhook_url(url) == url
    for url in REFUSED_EVERYWHERE_BUT_PRIVATE:
        with pytest.raises(ValidationError):
            checked_webhook_url(url)


def test_allow_private_takes_any_http_or_https_address(settings):
    settings.OAUTH_ALLOW_LOOPBACK = False
    settings.HEALTH_WEBHOOK_ALLOW_PRIVATE = True
    for url in [PUBLIC, *LOOPBACK, *REFUSED_EVERYWHERE_BUT_PRIVATE]:
        assert checked_webhook_url(url) == url
    with pytest.raises(ValidationError):
        checked_webhook_url("ftp://10.0.0.5/hook")
