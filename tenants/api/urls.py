from django.urls import path

from tenants.api import views

urlpatterns = [
    path("orgs/", views.OrganizationListView.as_view(), name="orgs"),
    path("org/members/", views.MemberListView.as_view(), name="org-members"),
]
