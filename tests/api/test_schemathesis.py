"""schemathesis against the live OpenAPI document: no 5xx, every answer matches the schema.

Each operation gets a bounded number of examples, valid and invalid (huge values, NUL bytes, wrong types),
with a fixed seed (derandomized), so the run is repeatable and short. (schemathesis' pytest plugin,
``from_fixture``, does not run under pytest 9 yet; the loop below is what it does.)
"""

from __future__ import annotations

import schemathesis
from hypothesis import HealthCheck, given
from hypothesis import settings as hypothesis_settings
from schemathesis.generation import GenerationMode
from schemathesis.specs.openapi.checks import positive_data_acceptance

from portal.connections.status import State
from tests.helpers.api import make_setup, make_token, sign_in

EXAMPLES = 15


def test_no_operation_fails_or_strays_from_its_schema(api_live, settings):
    settings.API_RATELIMIT_PER_MINUTE = 0
    settings.RATELIMIT_TEST_PER_MINUTE = 10_000
    acme = sign_in("acme_admin")
    make_setup(acme, state=State.NEEDS_RECONNECT)
    make_setup(acme, name="acme_ok")
    headers = {"Authorization": "Bearer " + make_token(acme, "setups:read", "setups:check", "handoff:write")}
    schema = schemathesis.openapi.from_url(api_live + "/api/v1/openapi.json")
    tried = []
    for result in schema.get_all_operations():
        operation = result.ok()
        for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):

            @given(case=operation.as_strategy(generation_mode=mode))
            @hypothesis_settings(
                max_examples=EXAMPLES,
                derandomize=True,
                deadline=None,
                database=None,
                suppress_health_check=list(HealthCheck),
            )
            def run(case):  # type: ignore[no-untyped-def]
                # A cursor is opaque: one the API never gave is refused (422) though the schema's
                # pattern allows it. Only that one check is left out, only for such requests.
                opaque = bool(case.query and "cursor" in case.query)
                excluded = [positive_data_acceptance] if opaque else []
                response = case.call_and_validate(headers=headers, excluded_checks=excluded)
                assert response.status_code < 500

            run()
        tried.append(operation.label)
    assert len(tried) >= 5, tried
