from django.urls import path

from accounts import views

urlpatterns = [
    path("register/", views.RegisterView.as_view(), name="register"),
    path("login/", views.LoginView.as_view(), name="login"),
    path("token/", views.OAuthTokenView.as_view(), name="token"),
    path("refresh/", views.RefreshView.as_view(), name="refresh"),
    path("switch-org/", views.SwitchOrgView.as_view(), name="switch-org"),
    path("logout/", views.LogoutView.as_view(), name="logout"),
    path("logout-all/", views.LogoutAllView.as_view(), name="logout-all"),
    path("sessions/", views.SessionListView.as_view(), name="sessions"),
    path("sessions/<uuid:session_id>/", views.SessionDetailView.as_view(), name="session-detail"),
    path("me/", views.MeView.as_view(), name="me"),
    path("orgs/", views.OrganizationListView.as_view(), name="orgs"),
    path("org/members/", views.MemberListView.as_view(), name="org-members"),
]
