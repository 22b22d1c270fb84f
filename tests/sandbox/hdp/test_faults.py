"""Fault injection (docs/architecture.md, Contracts; portal.sandbox.hdp.faults)."""

from __future__ import annotations

import time

import pytest

from portal.sandbox.hdp import errors, faults
from portal.sandbox.hdp.models import Fault, OAuthApp
from tests.helpers.emulator import APP_BODY, error_code


@pytest.fixture(autouse=True)
def faults_on(settings):
    settings.SANDBOX_FAULTS_ENABLED = True


def test_status_fault_answers_and_does_nothing_then_disarms(emulator_admin):
    faults.arm("POST", r"^/api/mgmt/oauthapps$", "status", status=503)
    first = emulator_admin.post("/api/mgmt/oauthapps", json=APP_BODY)
    assert first.status_code == 503
    assert error_code(first) == 222200503
    assert not OAuthApp.objects.exists()
    assert emulator_admin.post("/api/mgmt/oauthapps", json=APP_BODY).status_code == 201
    assert not Fault.objects.exists()


def test_fault_only_matches_its_method_and_path(emulator_admin):
    faults.arm("POST", r"^/api/mgmt/oauthapps$", "status", status=500)
    assert emulator_admin.get("/api/mgmt/oauthapps").status_code == 200
    assert emulator_admin.get("/api/mgmt/user").status_code == 200
    assert Fault.objects.get().remaining == 1


def test_times_counts_down(emulator_admin):
    faults.arm("*", r"/api/mgmt/user", "unauthorized", times=2)
    statuses = [emulator_admin.get("/api/mgmt/user").status_code for _ in range(3)]
    assert statuses == [401, 401, 200]


def test_unauthorized_fault_body(emulator_admin):
    faults.arm("GET", r"/api/mgmt/version", "unauthorized")
    response = emulator_admin.get("/api/mgmt/version")
    assert response.status_code == 401
    assert error_code(response) == errors.UNAUTHORIZED


def test_delay_fault_sleeps_then_handles(emulator_admin):
    faults.arm("GET", r"/api/mgmt/version", "delay", delay=0.3)
    started = time.monotonic()
    response = emulator_admin.get("/api/mgmt/version")
    assert time.monotonic() - started >= 0.3
    assert response.status_code == 200


def test_commit_then_drop_commits_and_answers_502(emulator_admin):
    faults.arm("POST", r"^/api/mgmt/oauthapps$", "commit_then_drop")
    response = emulator_admin.post("/api/mgmt/oauthapps", json=APP_BODY)
    assert response.status_code == 502
    assert error_code(response) == 222200502
    assert OAuthApp.objects.filter(name="GA_app").count() == 1


@pytest.mark.parametrize(
    "kwargs",
    [
        {"kind": "explode"},
        {"kind": "status"},
        {"kind": "status", "status": 200},
        {"kind": "delay"},
        {"kind": "status", "status": 500, "times": 0},
        {"kind": "status", "status": 500, "path_regex": "("},
    ],
)
def test_arm_rejects_bad_input(db, kwargs):
    args = {"method": "GET", "path_regex": ".*", **kwargs}
    with pytest.raises(ValueError):
        faults.arm(args.pop("method"), args.pop("path_regex"), args.pop("kind"), **args)


def test_control_endpoint_arms_lists_and_clears(emulator_admin):
    armed = emulator_admin.post(
        "/_faults",
        json={"method": "get", "path_regex": "/api/mgmt/user", "kind": "status", "status": 500, "times": 3},
    )
    assert armed.status_code == 201
    assert emulator_admin.get("/_faults").json()["faults"][0]["remaining"] == 3
    assert emulator_admin.get("/api/mgmt/user").status_code == 500
    assert emulator_admin.delete("/_faults").json() == {"cleared": 1}
    assert emulator_admin.get("/api/mgmt/user").status_code == 200


def test_control_endpoint_validates(emulator_admin):
    response = emulator_admin.post("/_faults", json={"path_regex": ".*", "kind": "nope"})
    assert response.status_code == 400
    assert error_code(response) == errors.BAD_REQUEST


def test_control_endpoint_needs_administrator(emulator_as):
    response = emulator_as("acme_admin").post("/_faults", json={"path_regex": ".*", "kind": "unauthorized"})
    assert response.status_code == 403
    assert emulator_as("d2cadmin", "wrong").delete("/_faults").status_code == 401
    assert not Fault.objects.exists()


def test_disabled_faults_are_404_and_never_fire(emulator_admin, settings):
    faults.arm("GET", ".*", "status", status=500)
    settings.SANDBOX_FAULTS_ENABLED = False
    assert (
        emulator_admin.post("/_faults", json={"path_regex": ".*", "kind": "unauthorized"}).status_code == 404
    )
    assert emulator_admin.get("/api/mgmt/user").status_code == 200
