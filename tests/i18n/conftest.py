"""The .mo files are build output (make install compiles them); tests compile any that are
missing or older than their .po, so no manual step comes before pytest."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from types import ModuleType

import pytest

ROOT = Path(__file__).resolve().parent.parent.parent


def load_translations_script() -> ModuleType:
    spec = importlib.util.spec_from_file_location("translations", ROOT / "scripts" / "translations.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # its dataclass looks the module up while it is defined
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="session")
def translations() -> ModuleType:
    return load_translations_script()


@pytest.fixture(scope="session", autouse=True)
def compiled_catalogues(translations: ModuleType) -> None:
    if not translations.compile_all(only_stale=True):
        return
    from asgiref.local import Local
    from django.utils.translation import trans_real

    # A catalogue loaded before the compile (by an earlier test) would hide the new .mo: reset the
    # caches as Django does when LOCALE_PATHS changes.
    trans_real._translations = {}
    trans_real._default = None
    trans_real._active = Local()
    # A test that patched check_for_language (mock.patch) leaves no lru_cache to clear.
    getattr(trans_real.check_for_language, "cache_clear", lambda: None)()
