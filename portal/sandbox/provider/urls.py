from __future__ import annotations

from django.urls import path

from portal.sandbox.provider import views

app_name = "sandbox_provider"
urlpatterns = [
    path("oauth/authorize/", views.AuthorizeView.as_view(), name="authorize"),
    path("oauth/token/", views.TokenView.as_view(), name="token"),
    path("oauth/revoke/", views.RevokeTokenView.as_view(), name="revoke"),
    path("oauth/userinfo/", views.UserInfoView.as_view(), name="userinfo"),
    path("oauth/jwks/", views.JwksView.as_view(), name="jwks"),
    # OpenID Connect Discovery: the issuer is <base>/sandbox (settings.OAUTH2_PROVIDER).
    path(".well-known/openid-configuration", views.DiscoveryView.as_view(), name="oidc-discovery"),
    path("provider/", views.console, name="console"),
    path("provider/new-client-secret/", views.new_client_secret, name="new-client-secret"),
    path("provider/refresh-lifetime/", views.refresh_lifetime, name="refresh-lifetime"),
    path("provider/revoke-access/", views.revoke_access, name="revoke-access"),
    path("provider/login/", views.login, name="login"),
    path("provider/logout/", views.logout, name="logout"),
]
