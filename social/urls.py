from django.urls import path

from social import api

urlpatterns = [
    path("google/", api.GoogleView.as_view(), name="google"),
    path("social/", api.SocialView.as_view(), name="social"),
    path("social/<str:provider>/", api.SocialProviderView.as_view(), name="social-provider"),
    path("me/identities/", api.IdentityListView.as_view(), name="identities"),
    path("me/identities/<uuid:identity_id>/", api.IdentityDetailView.as_view(), name="identity-detail"),
]
