from django.urls import path

from invitations import api

urlpatterns = [
    path("org/invitations/", api.OrgInvitationsView.as_view(), name="org-invitations"),
    path(
        "org/invitations/<uuid:invitation_id>/", api.OrgInvitationDetailView.as_view(), name="org-invitation"
    ),
    path(
        "org/invitations/<uuid:invitation_id>/resend/",
        api.OrgInvitationResendView.as_view(),
        name="org-invitation-resend",
    ),
    path("invitations/validate/", api.InvitationValidateView.as_view(), name="invitation-validate"),
    path("invitations/accept/", api.InvitationAcceptView.as_view(), name="invitation-accept"),
]
