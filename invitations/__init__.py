"""Invitations to join an org: invite, list, revoke, resend (admins); validate and accept (the invitee)."""
