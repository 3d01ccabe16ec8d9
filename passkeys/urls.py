from django.urls import path

from passkeys import api

urlpatterns = [
    path("passkeys/", api.PasskeyListView.as_view(), name="passkeys"),
    path("passkeys/register/options/", api.RegisterOptionsView.as_view(), name="passkey-register-options"),
    path("passkeys/register/", api.RegisterView.as_view(), name="passkey-register"),
    path("passkeys/login/options/", api.LoginOptionsView.as_view(), name="passkey-login-options"),
    path("passkeys/login/", api.LoginView.as_view(), name="passkey-login"),
    path("passkeys/<uuid:passkey_id>/", api.PasskeyDetailView.as_view(), name="passkey-detail"),
]
