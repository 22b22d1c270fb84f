"""One form per wizard step. ``clean_*`` returns domain values; HDP refusals go back into the form.

Split by step: names.py (HDP name rules), store.py, app.py, datasource.py (profile and data source)."""

from __future__ import annotations

from portal.onboarding.forms import lifetime
from portal.onboarding.forms.app import AppCreateForm, AppEditForm, AppReuseForm
from portal.onboarding.forms.datasource import DataSourceForm, ProfileForm
from portal.onboarding.forms.names import (
    DS_NAME,
    HDP_NAME,
    NAME_MAX,
    OAUTH_PROFILE_OPTION,
    ValidateUrl,
    check_ds_name,
    check_hdp_name,
    suggest_name,
)
from portal.onboarding.forms.store import StoreForm

__all__ = [
    "AppCreateForm",
    "AppEditForm",
    "AppReuseForm",
    "DS_NAME",
    "DataSourceForm",
    "HDP_NAME",
    "NAME_MAX",
    "OAUTH_PROFILE_OPTION",
    "ProfileForm",
    "StoreForm",
    "ValidateUrl",
    "check_ds_name",
    "check_hdp_name",
    "lifetime",
    "suggest_name",
]
