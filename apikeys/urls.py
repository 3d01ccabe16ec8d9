from django.urls import path

from apikeys import api

urlpatterns = [
    path("org/api-keys/", api.ApiKeysView.as_view(), name="org-api-keys"),
    path("org/api-keys/<uuid:key_id>/", api.ApiKeyDetailView.as_view(), name="org-api-key"),
    path("org/api-keys/<uuid:key_id>/roll/", api.ApiKeyRollView.as_view(), name="org-api-key-roll"),
]
