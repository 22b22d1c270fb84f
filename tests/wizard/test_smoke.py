from __future__ import annotations

from django.urls import reverse

from tests.wizard.fixtures import create_app, seal_tokens, start_run


def test_happy_path(acme, hdp):
    r = acme.get(reverse("onboarding:runs"))
    assert r.status_code == 200
    r = acme.get(reverse("onboarding:new"))
    assert r.status_code == 200, r.content.decode()
    run = start_run(acme)
    r = acme.get(reverse("onboarding:step-app", args=[run.pk]))
    assert r.status_code == 200, r.content.decode()
    r = create_app(acme, run)
    assert r.status_code == 303, r.content.decode()
    r = acme.get(r["Location"])
    assert r.status_code == 200, r.content.decode()
    seal_tokens(run)
    r = acme.post(reverse("onboarding:step-profile", args=[run.pk]), {"name": "Acme_GA_profile"})
    assert r.status_code == 303, r.content.decode()
    r = acme.get(r["Location"])
    assert r.status_code == 200, r.content.decode()
    r = acme.post(reverse("onboarding:step-datasource", args=[run.pk]), {"name": "AcmeGA"})
    assert r.status_code == 303, r.content.decode()
    r = acme.post(reverse("onboarding:step-verify", args=[run.pk]))
    assert r.status_code == 200, r.content.decode()
    print(r.content.decode())
