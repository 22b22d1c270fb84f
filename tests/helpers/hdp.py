"""Constants of the HdpClient unit tests (tests/hdp/): a made-up HDP server and service user."""

from __future__ import annotations

BASE = "https://hdp.example.com:8443/hdp"
HOST = "hdp.example.com"
SVC_USER = "portal_svc"
SVC_PASSWORD = "PW-SENTINEL-7c41e9"


def hdp_error(code: int | str, text: str = "oops") -> dict:
    return {"error": {"code": code, "message": {"lang": "en-US", "value": text}}}
