"""Validation of admin-supplied provider URIs (SECURITY.md items 5d and 11).

These URIs are dangerous twice: the portal POSTs an authorization code and a client secret to the
token URI, and HDP later POSTs the refresh token and the secret to it *from its own network*. So a
URI is accepted only if it is https on port 443, names a DNS host (never an IP literal, in any of
the spellings that URL parsers and ``inet_aton`` accept), and that host is on an allowlist: the
preset's pinned hosts, or ``settings.OAUTH_ALLOWED_CUSTOM_HOSTS`` for custom providers.
Loopback (``127.0.0.1``, ``localhost``, ``[::1]``, any port, http) is accepted only with
``settings.OAUTH_ALLOW_LOOPBACK`` (sandbox and tests).

The connect-time check against DNS rebinding lives in :mod:`portal.oauth.safe_http`.
"""

from __future__ import annotations

import ipaddress
import re
import socket
import unicodedata
from collections.abc import Sequence
from functools import lru_cache
from typing import Literal
from urllib.parse import unquote_plus, urlsplit, urlunsplit

import idna
import tldextract
from django.conf import settings
from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _

from portal.oauth import presets

UriKind = Literal["authorize", "token"]

# Parameters the portal sets itself on the authorization request (RFC 6749 §4.1.1, RFC 7636 §4.3,
# OIDC Core §3.1.2.1). Presetting them in a URI or in "extra parameters" would let a stored config
# override the portal's redirect URI, state or PKCE challenge.
RESERVED_AUTHORIZE_PARAMS = frozenset(
    {
        "client_id",
        "redirect_uri",
        "state",
        "response_type",
        "scope",
        "code_challenge",
        "code_challenge_method",
        "nonce",
    }
)
# And the token request's own parameters (RFC 6749 §4.1.3, §2.3.1, RFC 7636 §4.5).
RESERVED_TOKEN_PARAMS = RESERVED_AUTHORIZE_PARAMS | {
    "grant_type",
    "code",
    "code_verifier",
    "client_secret",
    "refresh_token",
}

LOOPBACK_HOSTS = frozenset({"127.0.0.1", "localhost", "::1"})
MAX_URI_LENGTH = 2000
_LABEL = re.compile(r"^(?!-)[a-z0-9-]{1,63}(?<!-)$")
# WHATWG URL "ends in a number": a last label of digits or 0x-hex makes browsers parse the host as IPv4.
_NUMERIC_LABEL = re.compile(r"^(?:0x[0-9a-f]*|[0-9]+)$")
_PLACEHOLDER = re.compile(r"\{([a-z_]+)\}")
_PARAM_NAME = re.compile(r"^[A-Za-z0-9_.\-]{1,64}$")


def _fail(message: str, code: str) -> ValidationError:
    return ValidationError(message, code=code)


def _loopback_allowed() -> bool:
    return bool(getattr(settings, "OAUTH_ALLOW_LOOPBACK", False))


def _has_unsafe_chars(text: str) -> bool:
    # Whitespace, control characters and backslashes are where URL parsers disagree
    # ("https://evil.example\@accounts.google.com" is evil.example to a browser).
    return any(ch.isspace() or unicodedata.category(ch) in {"Cc", "Cf"} or ch == "\\" for ch in text)


def _looks_like_ip(host: str) -> bool:
    """True for any IPv4/IPv6 spelling: dotted, decimal, octal, hex, short ("127.1"), bracketed."""
    if ":" in host or host.startswith("["):
        return True
    try:
        ipaddress.ip_address(host)
        return True
    except ValueError:
        pass
    try:
        socket.inet_aton(host)  # accepts 2130706433, 0177.0.0.1, 0x7f.1, 127.1 ...
        return True
    except OSError:
        pass
    last = host.rstrip(".").rsplit(".", 1)[-1]
    return bool(_NUMERIC_LABEL.match(last))


def _scripts(label: str) -> set[str]:
    scripts = set()
    for ch in label:
        if ch.isascii() and not ch.isalpha():
            continue
        name = unicodedata.name(ch, "")
        scripts.add(name.split(" ", 1)[0] if name else "UNKNOWN")
    return scripts


def normalise_host(raw_host: str) -> str:
    """IDNA-normalise a DNS host name to lower-case A-labels, or raise ValidationError.

    Rejects trailing dots (``accounts.google.com.`` is a different name to TLS and to allowlists),
    empty labels, labels that mix scripts (``аccounts`` with a Cyrillic "а"), and names whose
    A-label form does not decode back to the same U-label (invalid or non-canonical punycode).
    """
    if not raw_host:
        raise _fail(_("The address has no host name."), "host_missing")
    if raw_host.endswith("."):
        raise _fail(_("Remove the trailing dot after the host name."), "host_trailing_dot")
    try:
        ascii_host = idna.encode(raw_host, uts46=True, std3_rules=True).decode("ascii")
        unicode_host = idna.decode(ascii_host)
        if idna.encode(unicode_host).decode("ascii") != ascii_host:
            raise idna.IDNAError("does not round-trip")
    except (idna.IDNAError, UnicodeError, ValueError):
        raise _fail(
            _("The host name is not a valid international domain name (it does not convert cleanly)."),
            "host_idna",
        ) from None
    for label in unicode_host.split("."):
        if len(_scripts(label)) > 1:
            raise _fail(
                _(
                    "The host name mixes alphabets in one part (a look-alike of another name); "
                    "type it in plain letters."
                ),
                "host_mixed_script",
            )
    labels = ascii_host.split(".")
    if len(ascii_host) > 253 or not all(_LABEL.match(label) for label in labels):
        raise _fail(_("The host name is not a valid DNS name."), "host_invalid")
    return ascii_host


def host_matches(host: str, patterns: Sequence[str]) -> bool:
    """``host`` equals an entry, or ends with ``.suffix`` for a ``*.suffix`` entry (not the apex)."""
    host = host.lower()
    for pattern in patterns:
        pattern = pattern.strip().lower()
        if pattern.startswith("*."):
            if host.endswith(pattern[1:]) and len(host) > len(pattern) - 1:
                return True
        elif pattern and host == pattern:
            return True
    return False


def _decoded_layers(query: str, depth: int = 3) -> list[str]:
    """The query as written and as it reads after up to ``depth`` rounds of percent-decoding."""
    layers = [query]
    for _round in range(depth):
        decoded = unquote_plus(layers[-1])
        if decoded == layers[-1]:
            break
        layers.append(decoded)
    return layers


def _has_semicolon(query: str) -> bool:
    return any(";" in layer for layer in _decoded_layers(query))


def query_param_names(query: str) -> set[str]:
    """Every parameter name the query could carry to any parser: split on "&" and ";", in the query
    as written and after each round of percent-decoding (``%26redirect_uri%3D...`` names it too)."""
    names: set[str] = set()
    for layer in _decoded_layers(query):
        for piece in re.split(r"[&;]", layer):
            name = unquote_plus(piece.partition("=")[0]).strip().lower()
            if name:
                names.add(name)
    return names


def check_provider_uri(uri: str, *, preset: presets.Preset, kind: UriKind) -> str:
    """The one check of an authorize or token URI typed into the app form: the save path
    (``AppCreateForm.clean``) and the inline check (``onboarding.views._FIELDS``) both call it,
    so both give the same answer.

    A preset's address can still hold a ``{placeholder}`` (``https://{account}.snowflakecomputing.com/...``):
    the form fills it from the fields above when it is saved, so here it gets a message naming them;
    any other brace is refused as such.
    """
    uri = (uri or "").strip()
    if "{" in uri or "}" in uri:
        names = _PLACEHOLDER.findall(uri)
        leftover = _PLACEHOLDER.sub("", uri)
        if names and "{" not in leftover and "}" not in leftover and set(names) <= set(preset.placeholders):
            labels = ", ".join(str(presets.PLACEHOLDER_LABELS.get(n, n)) for n in dict.fromkeys(names))
            raise _fail(
                _(
                    "Fill in %(fields)s above: this address still has a {placeholder}, which is filled "
                    "in from it when you save."
                )
                % {"fields": labels},
                "placeholder",
            )
        raise _fail(
            _("Remove the { } characters: only a preset's own {placeholder} may appear here."), "braces"
        )
    return validate_provider_uri(uri, allowed_hosts=preset.allowed_hosts, kind=kind)


def validate_provider_uri(
    uri: str, *, allowed_hosts: Sequence[str] | None, kind: UriKind = "authorize"
) -> str:
    """Return the normalised ``uri`` or raise ValidationError with a message naming the problem.

    ``allowed_hosts``: the preset's pinned hosts, or None for a custom provider (then the host must
    be in ``settings.OAUTH_ALLOWED_CUSTOM_HOSTS``).
    """
    if not isinstance(uri, str):
        raise _fail(_("Enter an address."), "required")
    uri = uri.strip(" ")
    if not uri:
        raise _fail(_("Enter an address."), "required")
    if len(uri) > MAX_URI_LENGTH:
        raise _fail(
            _("The address is longer than %(limit)s characters.") % {"limit": MAX_URI_LENGTH}, "too_long"
        )
    if _has_unsafe_chars(uri):
        raise _fail(_("The address contains spaces, control characters or backslashes."), "unsafe_chars")
    if "#" in uri:
        raise _fail(_("Remove the '#...' part: provider addresses cannot have a fragment."), "fragment")
    try:
        parts = urlsplit(uri)
        port = parts.port
    except ValueError:
        raise _fail(_("The address is not a valid URL (check the host and port)."), "malformed") from None
    scheme = parts.scheme.lower()
    if scheme not in {"https", "http"} or not parts.netloc:
        raise _fail(_("The address must start with https://."), "scheme")
    if "@" in parts.netloc:
        raise _fail(
            _("Remove the 'name@' part before the host: user names in addresses are not allowed."), "userinfo"
        )

    raw_host = parts.hostname or ""
    loopback = _loopback_allowed() and raw_host in LOOPBACK_HOSTS
    if not raw_host:
        raise _fail(_("The address has no host name."), "host_missing")
    if loopback:
        host = raw_host
    else:
        if _looks_like_ip(raw_host):
            raise _fail(_("Use the provider's host name, not an IP address."), "ip_literal")
        if raw_host == "localhost" or raw_host.endswith(".localhost"):
            raise _fail(_("Local addresses are not allowed for providers."), "loopback")
        host = normalise_host(raw_host)
        if _looks_like_ip(host):  # a full-width digit can become an IP after normalisation
            raise _fail(_("Use the provider's host name, not an IP address."), "ip_literal")

    if scheme != "https" and not loopback:
        raise _fail(
            _("The address must start with https:// (plain http would expose codes and secrets)."), "scheme"
        )
    if not loopback and port not in (None, 443):
        raise _fail(_("Use the standard https port 443, not %(port)s.") % {"port": port}, "port")

    if not loopback:
        if allowed_hosts is not None:
            if not host_matches(host, allowed_hosts):
                raise _fail(
                    _("%(host)s is not an address of this provider (expected %(expected)s).")
                    % {"host": host, "expected": ", ".join(allowed_hosts)},
                    "host_not_allowed",
                )
        elif not host_matches(host, settings.OAUTH_ALLOWED_CUSTOM_HOSTS):
            raise _fail(
                _(
                    "%(host)s is not on the list of approved provider hosts. An operator can approve it by "
                    "adding it to the OAUTH_ALLOWED_CUSTOM_HOSTS setting."
                )
                % {"host": host},
                "host_not_allowed",
            )

    if _has_semicolon(parts.query):
        # Some parsers (older Python, Java servlet containers, Rails) split a query on ";" as well
        # as "&": "?x=1;redirect_uri=https://evil/" is one parameter to the portal and two to them.
        # No preset uses ";" in a query (tests/oauth/test_uris.py checks every preset).
        raise _fail(
            _("Remove the ';' from the part after '?': providers' addresses never need it here."), "semicolon"
        )
    reserved = RESERVED_AUTHORIZE_PARAMS if kind == "authorize" else RESERVED_TOKEN_PARAMS
    preset = sorted(query_param_names(parts.query) & reserved)
    if preset:
        raise _fail(
            _("Remove %(names)s from the address: the portal sets these itself.")
            % {"names": ", ".join(preset)},
            "reserved_param",
        )

    netloc = f"[{host}]" if ":" in host else host
    if port is not None and port != 443:
        netloc = f"{netloc}:{port}"
    return urlunsplit((scheme, netloc, parts.path or "/", parts.query, ""))


def validate_extra_params(text: str) -> dict[str, str]:
    """Parse "a=b&c=d" or one "a=b" per line into a dict; reject the portal's own parameters."""
    text = (text or "").strip()
    if not text:
        return {}
    pieces = [p for chunk in text.splitlines() for p in chunk.split("&")]
    result: dict[str, str] = {}
    for piece in pieces:
        piece = piece.strip()
        if not piece:
            continue
        name, sep, value = piece.partition("=")
        name, value = name.strip(), value.strip()
        if not sep or not _PARAM_NAME.match(name):
            raise _fail(
                _("Write each extra parameter as name=value (problem with %(piece)s).")
                % {"piece": repr(piece[:40])},
                "extra_syntax",
            )
        if name.lower() in RESERVED_AUTHORIZE_PARAMS:
            raise _fail(_("Remove %(name)s: the portal sets it itself.") % {"name": name}, "reserved_param")
        if any(unicodedata.category(ch) in {"Cc", "Cf"} for ch in value) or len(value) > 500:
            raise _fail(
                _("The value of %(name)s contains control characters or is too long.") % {"name": name},
                "extra_value",
            )
        if name in result:
            raise _fail(_("%(name)s is given twice.") % {"name": name}, "extra_duplicate")
        result[name] = value
    if len(result) > 20:
        raise _fail(_("At most 20 extra parameters."), "extra_too_many")
    return result


@lru_cache(maxsize=1)
def _extractor() -> tldextract.TLDExtract:
    # The bundled Public Suffix List snapshot only: suffix_list_urls=() means no network fetch,
    # cache_dir=None means no cache files. Private suffixes (herokuapp.com, ...) count as public
    # suffixes: two apps on one hosting platform do not share an owner.
    return tldextract.TLDExtract(suffix_list_urls=(), cache_dir=None, include_psl_private_domains=True)


def registrable_domain(host: str) -> str:
    return _extractor()(host).top_domain_under_public_suffix


def hosts_share_registrable_domain(a: str, b: str) -> bool:
    """True when both hosts sit under one registrable domain (eTLD+1), e.g. login.x.com and api.x.com."""
    first, second = registrable_domain(a.lower()), registrable_domain(b.lower())
    return bool(first) and first == second


def validate_provider_pair(
    authorize_uri: str, token_uri: str, *, allowed_hosts: Sequence[str] | None
) -> tuple[str, str]:
    """Validate both URIs and, for custom providers, that they belong together (SECURITY.md item 5d).

    An honest authorize endpoint paired with an attacker's token endpoint would send codes and the
    client secret to the attacker; so custom hosts must share a registrable domain, or each host
    must be listed by exact name (not a ``*.`` pattern) in ``OAUTH_ALLOWED_CUSTOM_HOSTS``.
    """
    authorize = validate_provider_uri(authorize_uri, allowed_hosts=allowed_hosts, kind="authorize")
    token = validate_provider_uri(token_uri, allowed_hosts=allowed_hosts, kind="token")
    if allowed_hosts is None:
        a_host, t_host = urlsplit(authorize).hostname or "", urlsplit(token).hostname or ""
        exact = {
            h.strip().lower() for h in settings.OAUTH_ALLOWED_CUSTOM_HOSTS if not h.strip().startswith("*.")
        }
        loopback = _loopback_allowed() and a_host in LOOPBACK_HOSTS and t_host in LOOPBACK_HOSTS
        if not (loopback or hosts_share_registrable_domain(a_host, t_host) or {a_host, t_host} <= exact):
            raise ValidationError(
                _(
                    "The sign-in host %(authorize_host)s and the token host %(token_host)s belong to different "
                    "domains. An operator must list both names in OAUTH_ALLOWED_CUSTOM_HOSTS to allow this pair."
                )
                % {"authorize_host": a_host, "token_host": t_host},
                code="host_pair",
            )
    return authorize, token
