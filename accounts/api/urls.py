from django.urls import path

from accounts.api import me, mfa, password, sessions, sign_in

urlpatterns = [
    path("register/", sign_in.RegisterView.as_view(), name="register"),
    path("login/", sign_in.LoginView.as_view(), name="login"),
    path("token/", sign_in.OAuthTokenView.as_view(), name="token"),
    path("refresh/", sessions.RefreshView.as_view(), name="refresh"),
    path("switch-org/", sessions.SwitchOrgView.as_view(), name="switch-org"),
    path("logout/", sessions.LogoutView.as_view(), name="logout"),
    path("logout-all/", sessions.LogoutAllView.as_view(), name="logout-all"),
    path("sessions/", sessions.SessionListView.as_view(), name="sessions"),
    path("sessions/<uuid:session_id>/", sessions.SessionDetailView.as_view(), name="session-detail"),
    path("me/", me.MeView.as_view(), name="me"),
    path("password/change/", password.PasswordChangeView.as_view(), name="password-change"),
    path("mfa/totp/setup/", mfa.TotpSetupView.as_view(), name="mfa-totp-setup"),
    path("mfa/totp/confirm/", mfa.TotpConfirmView.as_view(), name="mfa-totp-confirm"),
    path("mfa/totp/", mfa.TotpView.as_view(), name="mfa-totp"),
    path("mfa/verify/", mfa.MfaVerifyView.as_view(), name="mfa-verify"),
    path("mfa/recovery-codes/", mfa.RecoveryCodesView.as_view(), name="mfa-recovery-codes"),
    path("reauthenticate/", mfa.ReauthenticateView.as_view(), name="reauthenticate"),
]
