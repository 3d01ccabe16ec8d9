"""Baseline endpoints (see ``bench.views``); ``config.urls`` mounts them only when ``settings.BENCH``."""

from django.urls import path

from bench import views

urlpatterns = [
    path("django/", views.django_view, name="bench-django"),
    path("drf/", views.DRFView.as_view(), name="bench-drf"),
    path("simplejwt/", views.SimpleJWTView.as_view(), name="bench-simplejwt"),
    path("simplejwt/refresh/", views.StockRefreshView.as_view(), name="bench-simplejwt-refresh"),
    path("simplejwt/mint/", views.MintView.as_view(), name="bench-simplejwt-mint"),
    path("bearer/", views.BearerView.as_view(), name="bench-bearer"),
    path("raw/", views.RawQueryView.as_view(), name="bench-raw"),
    path("members/", views.MembersView.as_view(), name="bench-members"),
]
