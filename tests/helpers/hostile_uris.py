"""Hostile provider URIs, each with the validation error code the portal answers: the validator's table
(tests/oauth/test_uris.py) and the pages that take a URI (tests/security/test_hostile_uris.py,
tests/security/test_uri_parity.py) use the same lists."""

from __future__ import annotations

HOSTILE = [
    ("http://accounts.google.com/o/oauth2/v2/auth", "scheme"),
    ("https://127.0.0.1/auth", "ip_literal"),
    ("https://2130706433/auth", "ip_literal"),  # decimal 127.0.0.1
    ("https://0177.0.0.1/auth", "ip_literal"),  # octal
    ("https://0x7f.1/auth", "ip_literal"),  # hex, short form
    ("https://0x7f000001/auth", "ip_literal"),
    ("https://127.1/auth", "ip_literal"),  # short form
    ("https://169.254.169.254/latest/meta-data", "ip_literal"),
    ("https://10.0.0.5/token", "ip_literal"),
    ("https://[::1]/auth", "ip_literal"),
    ("https://[::ffff:127.0.0.1]/auth", "ip_literal"),  # IPv4-mapped IPv6
    ("https://[0:0:0:0:0:ffff:a9fe:a9fe]/", "ip_literal"),
    ("https://１２７.0.0.1/auth", "ip_literal"),  # full-width digits normalise to an IP
    ("https://localhost/auth", "loopback"),
    ("https://evil.localhost/auth", "loopback"),
    ("https://user@accounts.google.com/o/oauth2/v2/auth", "userinfo"),
    ("https://accounts.google.com:pw@evil.example/x", "userinfo"),
    ("https://accounts.google.com@evil.example/x", "userinfo"),
    ("https://accounts.google.com/o/oauth2/v2/auth#frag", "fragment"),
    ("https://accounts.google.com/#", "fragment"),
    ("https://accounts.google.com:8443/o/oauth2/v2/auth", "port"),
    ("https://accounts.google.com:80/", "port"),
    ("https://accounts.google.com/auth?redirect_uri=https://evil.example/cb", "reserved_param"),
    ("https://accounts.google.com/auth?client_id=someone-else", "reserved_param"),
    ("https://accounts.google.com/auth?state=fixed", "reserved_param"),
    ("https://accounts.google.com/auth?response_type=token", "reserved_param"),
    ("https://accounts.google.com/auth?SCOPE=all", "reserved_param"),
    ("https://accounts.google.com/auth?code_challenge=x&code_challenge_method=plain", "reserved_param"),
    ("https://accounts.google.com/auth?nonce=1", "reserved_param"),
    ("https://аccounts.google.com/o/oauth2/v2/auth", "host_mixed_script"),  # Cyrillic "а"
    ("https://xn--ccounts-4fg.google.com/", "host_mixed_script"),  # the same, as punycode
    ("https://xn--zz.google.com/", "host_idna"),  # invalid punycode
    ("https://accounts.google.com./o/oauth2/v2/auth", "host_trailing_dot"),
    ("https://accounts..google.com/", "host_idna"),
    ("https://accounts.google.com.evil.example/", "host_not_allowed"),
    ("https://evilaccounts.google.com.example.net/", "host_not_allowed"),
    ("https://oauth2.googleapis.com.evil.example/token", "host_not_allowed"),
    ("https://my.salesforce.com/", "host_not_allowed"),  # "*.suffix" never matches the apex
    ("javascript:alert(1)", "scheme"),
    ("data:text/html,<script>", "scheme"),
    ("ftp://accounts.google.com/", "scheme"),
    ("//accounts.google.com/auth", "scheme"),
    ("https://", "scheme"),
    ("https:///path", "scheme"),
    ("", "required"),
    ("   ", "required"),
    ("https://accounts.google.com /auth", "unsafe_chars"),
    ("https://accounts.google.com\t.evil.example/", "unsafe_chars"),
    ("https://accounts.google.com\n/auth", "unsafe_chars"),
    ("https://evil.example\\@accounts.google.com/", "unsafe_chars"),
    ("https://accounts.google.com\u200b/auth", "unsafe_chars"),  # zero-width space
    ("https://accounts_google.com/", "host_idna"),
    ("https://accounts.google.com:99999/", "malformed"),
    ("https://" + "a" * 2000 + ".com/", "too_long"),
]

SEPARATOR_HOSTILE = [
    # The example: one parameter to the portal, two to a parser that splits on ";".
    ("https://accounts.google.com/auth?x=1;redirect_uri=https://evil.example/", "semicolon"),
    ("https://accounts.google.com/auth?x=1%3Bredirect_uri=https://evil.example/", "semicolon"),
    ("https://accounts.google.com/auth?x=1%253Bstate=fixed", "semicolon"),
    ("https://accounts.google.com/auth?prompt=consent;access_type=offline", "semicolon"),
    ("https://accounts.google.com/auth;x=1?a=b;c", "semicolon"),
    # Encoded "&": a parser that decodes the query once before splitting sees the parameter.
    ("https://accounts.google.com/auth?x=1%26redirect_uri%3Dhttps://evil.example/", "reserved_param"),
    ("https://accounts.google.com/auth?x=1%2526client_id%253Dother", "reserved_param"),
    ("https://accounts.google.com/auth?redirect%5Furi=https://evil.example/", "reserved_param"),
    ("https://accounts.google.com/auth?x=1&&State=fixed", "reserved_param"),
    ("https://accounts.google.com/auth?+scope+=all", "reserved_param"),
]
