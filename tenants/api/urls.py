from django.urls import path

from tenants.api import audit, views

urlpatterns = [
    path("orgs/", views.OrganizationListView.as_view(), name="orgs"),
    path("org/", views.OrganizationView.as_view(), name="org"),
    path("org/leave/", views.OrganizationLeaveView.as_view(), name="org-leave"),
    path("org/members/", views.MemberListView.as_view(), name="org-members"),
    path("org/members/<uuid:profile_id>/", views.MemberDetailView.as_view(), name="org-member-detail"),
    path("org/audit-log/", audit.AuditLogView.as_view(), name="org-audit-log"),
]
