"""Every user-facing text is marked for translation (pure Python: no gettext tools needed in CI).

Templates: after removing what is translated or not text (``{% translate %}``, ``{% blocktranslate %}``
blocks, variables, other tags, comments, ``<script>``/``<style>``), no visible text node and no
``title``/``aria-label``/``placeholder``/``alt`` value may still hold a word. Python: the user-facing
messages of the modules swept for translation resolve through gettext (checked with a fake
catalogue that changes every translated string).
"""

from __future__ import annotations

import ast
import re
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
TEMPLATES = ROOT / "templates"

# Not words to translate: the product's name, and the time zone every time is shown in.
ALLOWED_WORDS = frozenset({"HDP", "UTC"})

_COMMENT = re.compile(r"{#.*?#}|{%\s*comment\s*%}.*?{%\s*endcomment\s*%}", re.S)
_BLOCKTRANS = re.compile(r"{%\s*blocktrans(?:late)?\b.*?%}.*?{%\s*endblocktrans(?:late)?\s*%}", re.S)
_RAW_ELEMENTS = re.compile(r"<(script|style)\b.*?</\1\s*>", re.S | re.I)
_TAG_OR_VAR = re.compile(r"{%.*?%}|{{.*?}}", re.S)
_HTML_TAG = re.compile(r"<!--.*?-->|<!doctype[^>]*>|<[^>]*>", re.S | re.I)
_ATTR = re.compile(r"""\s(title|aria-label|placeholder|alt)\s*=\s*("[^"]*"|'[^']*')""", re.I)
_ENTITY = re.compile(r"&#?\w+;")
_WORD = re.compile(r"[^\W\d_]{3,}")


def _words(text: str) -> list[str]:
    return [w for w in _WORD.findall(_ENTITY.sub(" ", text)) if w not in ALLOWED_WORDS]


def untranslated(source: str) -> Iterator[str]:
    """The words of ``source`` (a template) that a person would read untranslated."""
    text = _COMMENT.sub(" ", source)
    text = _BLOCKTRANS.sub(" ", text)
    text = _RAW_ELEMENTS.sub(" ", text)
    text = _TAG_OR_VAR.sub(" ", text)  # {% translate %} included: what it says is marked
    for match in _ATTR.finditer(text):
        for word in _words(match.group(2)[1:-1]):
            yield f"{match.group(1)}: {word}"
    for node in _HTML_TAG.split(text):
        yield from _words(node)


def _templates() -> list[Path]:
    """The project's templates and those of its apps (portal/<app>/templates)."""
    return sorted([*TEMPLATES.rglob("*.html"), *(ROOT / "portal").glob("**/templates/**/*.html")])


def test_the_check_finds_text_and_attributes_and_ignores_what_is_marked() -> None:
    source = """{% load i18n %}{# a comment #}<p title="Plain title">Hello {{ name }}</p>
    <p>{% translate "Marked" %} · {% blocktranslate with n=1 %}Also {{ n }} marked{% endblocktranslate %}</p>
    <input placeholder="{% translate 'Marked too' %}" aria-label="{{ label }}">
    <script>const words = "not shown";</script><span>HDP</span><code>&mdash;</code> ok"""
    assert sorted(untranslated(source)) == ["Hello", "title: Plain", "title: title"]


@pytest.mark.parametrize("path", _templates(), ids=lambda p: str(p.relative_to(ROOT)))
def test_template_text_is_marked_for_translation(path: Path) -> None:
    found = list(untranslated(path.read_text(encoding="utf-8")))
    assert found == [], f"{path.relative_to(ROOT)}: unmarked text {found}"


def test_every_template_loads_i18n_when_it_translates() -> None:
    for path in _templates():
        source = path.read_text(encoding="utf-8")
        if re.search(r"{%\s*(translate|blocktranslate|trans|blocktrans)\b", source):
            assert re.search(r"{%\s*load\b[^%]*\bi18n\b", source), path


# --- Python: literal text handed to a user-facing sink must go through gettext ---------------------
SWEPT_MODULES = sorted(
    {
        # oauth: the modules swept so far.
        *(
            ROOT / "portal" / "oauth" / name
            for name in ("views.py", "errors.py", "flows.py", "presets.py", "uris.py")
        ),
        *(ROOT / "portal" / "onboarding").rglob("[a-z]*.py"),
        *(ROOT / "portal" / "accounts").glob("[a-z]*.py"),
        *(ROOT / "portal" / "support").glob("[a-z]*.py"),
        *(ROOT / "portal" / "sandbox" / "provider").glob("[a-z]*.py"),
    }
)
GETTEXT_NAMES = frozenset(
    {"_", "_l", "gettext", "gettext_lazy", "ngettext", "ngettext_lazy", "pgettext", "pgettext_lazy"}
)
# Exceptions whose text is shown to the person (str(exc) / exc.messages end up on a page).
USER_FACING_EXCEPTIONS = frozenset(
    {
        "ValidationError",
        "StepError",
        "StepBusy",
        "StepNotReady",
        "SecretRequired",
        "MissingTokens",
        "NameTaken",
        "ReconcileConflict",
        "_fail",  # portal.oauth.uris: builds the ValidationError a form shows
    }
)
# OAuthError(code, explanation, retry_hint): the code is not shown, the other two are.
OAUTH_ERRORS = frozenset(
    {
        "OAuthError",
        "ProviderDenied",
        "TokenExchangeError",
        "BlockedDestinationError",
        "RedirectReturned",
        "MissingRefreshToken",
        "InsufficientScope",
        "ConfigurationError",
        "cls",
    }
)
# Keyword arguments that are always read by a person (form fields, problem pages).
USER_FACING_KEYWORDS = frozenset(
    {"label", "help_text", "title", "link_text", "message", "empty_label", "refresh_token_hint"}
)
MESSAGE_LEVELS = frozenset({"debug", "info", "success", "warning", "error"})


def _is_literal_text(node: ast.expr) -> bool:
    """A literal (or f-string, or a concatenation with one) holding a word."""
    if isinstance(node, ast.Constant):
        return isinstance(node.value, str) and bool(_WORD.search(node.value))
    if isinstance(node, ast.JoinedStr):
        return any(_is_literal_text(v) for v in node.values if isinstance(v, ast.Constant))
    if isinstance(node, ast.BinOp):  # "a" + b, "a %s" % b: the left side is what is read
        return _is_literal_text(node.left) or (isinstance(node.op, ast.Add) and _is_literal_text(node.right))
    return False


def _callee(node: ast.Call) -> tuple[str, str]:
    """(name, owner) of the called function: ``messages.error`` -> ("error", "messages")."""
    func = node.func
    if isinstance(func, ast.Name):
        return func.id, ""
    if isinstance(func, ast.Attribute):
        owner = func.value.id if isinstance(func.value, ast.Name) else ""
        return func.attr, owner
    return "", ""


def unmarked_python_text(source: str) -> Iterator[tuple[int, str]]:
    for node in ast.walk(ast.parse(source)):
        if not isinstance(node, ast.Call):
            continue
        name, owner = _callee(node)
        if name in GETTEXT_NAMES:
            continue
        shown: list[ast.expr] = []
        if name in USER_FACING_EXCEPTIONS and node.args:
            shown.append(node.args[0])
        if name in OAUTH_ERRORS:
            shown.extend(node.args[1:3])
        if owner == "messages" and name in MESSAGE_LEVELS and len(node.args) > 1:
            shown.append(node.args[1])
        if name == "add_error" and len(node.args) > 1:
            shown.append(node.args[1])
        if name == "_refuse" and len(node.args) > 2:
            shown.append(node.args[2])
        shown.extend(k.value for k in node.keywords if k.arg in USER_FACING_KEYWORDS)
        for arg in shown:
            if _is_literal_text(arg):
                yield arg.lineno, ast.unparse(arg)[:80]


def test_the_python_check_finds_literal_messages() -> None:
    source = """
raise StepError("Plain words")
raise StepError(_("Marked words"))
raise NameTaken(_("Marked %(name)s") % {"name": name})
raise ValidationError(f"Remove {names} from the parameters.")
messages.info(request, "Shown " + more)
messages.info(request, finding)
form.add_error("name", str(exc))
forms.CharField(label="Tenant", help_text=_l("Marked"))
logger.info("Not shown to anyone")
raise ValueError("only in logs")
raise TokenExchangeError("invalid_grant", "Plain explanation", _("Marked hint"))
raise _fail(f"Use port 443, not {port}.", "port")
raise _fail(_("Use port 443, not %(port)s.") % {"port": port}, "port")
Preset(key="x", label=_l("Marked label"), refresh_token_hint="Plain hint")
"""
    assert [line for line, _text in unmarked_python_text(source)] == [2, 5, 6, 9, 12, 13, 15]


@pytest.mark.parametrize("path", SWEPT_MODULES, ids=lambda p: str(p.relative_to(ROOT)))
def test_python_messages_are_marked_for_translation(path: Path) -> None:
    found = list(unmarked_python_text(path.read_text(encoding="utf-8")))
    assert found == [], f"{path.relative_to(ROOT)}: unmarked user-facing text {found}"


# --- at run time: translated messages follow the active catalogue -------------------------------------
def test_module_level_messages_are_translated_when_used(monkeypatch: pytest.MonkeyPatch) -> None:
    """gettext_lazy constants (and the messages built from them) go through the catalogue at use
    time, not at import: a fake catalogue that marks every string shows it."""
    from django.utils import translation

    from portal.oauth import errors
    from portal.onboarding import engine

    monkeypatch.setattr(translation._trans, "gettext", lambda message: f"[{message}]", raising=False)
    denied = errors.explain("access_denied").user_message()
    assert denied.startswith("[The sign-in at the provider was cancelled") and denied.endswith("asks.]")
    lapsed = errors.explain_refresh_failure("invalid_grant", "microsoft")
    assert lapsed.explanation.startswith("[The provider no longer accepts the saved sign-in. [Microsoft")
    assert lapsed.retry_hint == "[Start the connection again from the sign-in step.]"
    assert str(engine.records.KIND_WORDS[engine.records.Kind.APP]) == "[OAuth application]"


def test_preset_and_uri_messages_are_translated_when_used(monkeypatch: pytest.MonkeyPatch) -> None:
    """Preset labels and hints are gettext_lazy (module-level), URI messages gettext at raise time:
    both follow the catalogue, and the lazy texts still compare and format like strings."""
    from dataclasses import replace

    from django.core.exceptions import ValidationError
    from django.utils import translation

    from portal.oauth import presets, uris

    snowflake = presets.PRESETS["snowflake"]
    assert snowflake.label == "Snowflake" and "OAUTH_ISSUE_REFRESH_TOKENS" in snowflake.refresh_token_hint
    assert sorted([presets.PRESETS["salesforce"].label, snowflake.label]) == ["Salesforce", "Snowflake"]
    plain = replace(snowflake, label="Snowflake", refresh_token_hint=str(snowflake.refresh_token_hint))
    assert plain == snowflake and snowflake.fill(account="ab1").label == "Snowflake"

    monkeypatch.setattr(translation._trans, "gettext", lambda message: f"[{message}]", raising=False)
    assert str(snowflake.label) == "[Snowflake]"
    assert str(snowflake.refresh_token_hint).startswith("[Snowflake returns a refresh token")
    assert str(presets.PLACEHOLDER_LABELS["tenant"]).startswith("[Microsoft Entra tenant")
    with pytest.raises(ValidationError) as missing:
        presets.PRESETS["microsoft"].fill(tenant="contoso")
    assert missing.value.messages == [
        "[Fill in: [Dynamics 365 organisation (the part before .crm.dynamics.com)].]"
    ]
    with pytest.raises(ValidationError) as port:
        uris.validate_provider_uri(
            "https://accounts.google.com:8443/x", allowed_hosts=["accounts.google.com"]
        )
    assert port.value.messages == ["[Use the standard https port 443, not 8443.]"]
