from django.urls import path

from magiclinks import api

urlpatterns = [
    path("magic-link/request/", api.MagicLinkRequestView.as_view(), name="magic-link-request"),
    path("magic-link/verify/", api.MagicLinkVerifyView.as_view(), name="magic-link-verify"),
    path("email/verify/request/", api.EmailVerifyRequestView.as_view(), name="email-verify-request"),
    path("email/verify/", api.EmailVerifyView.as_view(), name="email-verify"),
    path("password/forgot/", api.PasswordForgotView.as_view(), name="password-forgot"),
    path("password/reset/validate/", api.PasswordResetValidateView.as_view(), name="password-reset-validate"),
    path("password/reset/", api.PasswordResetView.as_view(), name="password-reset"),
]
