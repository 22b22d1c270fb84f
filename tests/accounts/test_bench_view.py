"""The bench's bare signed-in view (portal/lib/bench.py): mounted only with PORTAL_BENCH_VIEWS on."""

from __future__ import annotations

import importlib

import pytest
from django.urls import NoReverseMatch, clear_url_caches, reverse

import portal.urls

pytestmark = pytest.mark.django_db


@pytest.fixture
def bench_urls(settings):
    """portal/urls.py read again with PORTAL_BENCH_VIEWS on; read again with it off afterwards."""

    def mount(on: bool) -> None:
        settings.PORTAL_BENCH_VIEWS = on
        importlib.reload(portal.urls)
        clear_url_caches()

    yield mount
    settings.PORTAL_BENCH_VIEWS = False
    importlib.reload(portal.urls)
    clear_url_caches()


def test_the_setting_is_off_by_default():
    from django.conf import settings

    assert settings.PORTAL_BENCH_VIEWS is False


def test_without_the_setting_the_url_does_not_exist(acme, bench_urls):
    bench_urls(False)
    with pytest.raises(NoReverseMatch):
        reverse("bench-bare")
    assert acme.get("/bench/bare/").status_code == 404


def test_with_the_setting_a_signed_in_person_gets_a_short_plain_text_page(acme, bench_urls, hdp_log):
    bench_urls(True)
    response = acme.get(reverse("bench-bare"))
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/plain")
    assert response.content == b"ok\n"
    assert hdp_log == []  # no HDP call of its own (the periodic re-check is not due right after sign-in)
    assert "no-store" in response["Cache-Control"]  # the same middleware as every page


def test_with_the_setting_signed_out_it_sends_to_the_sign_in_page(client, bench_urls):
    bench_urls(True)
    response = client.get("/bench/bare/")
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("accounts:login"))


def test_it_answers_get_only(acme, bench_urls):
    bench_urls(True)
    assert acme.post("/bench/bare/").status_code == 405
