from __future__ import annotations

import pytest

from portal.sandbox.provider.seed import seed_provider
from tests.helpers.sandbox_provider import REDIRECT_URI


@pytest.fixture
def provider_app(db):
    return seed_provider([REDIRECT_URI])


@pytest.fixture
def portal_user(db, django_user_model):
    return django_user_model.objects.create(username="acme_admin", hdp_tenant_id=71, hdp_tenant_name="Acme")
