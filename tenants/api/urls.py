from django.urls import path

from tenants.api import audit, views

urlpatterns = [
    path("orgs/", views.OrganizationListView.as_view(), name="orgs"),
    path("org/members/", views.MemberListView.as_view(), name="org-members"),
    path("org/audit-log/", audit.AuditLogView.as_view(), name="org-audit-log"),
]
