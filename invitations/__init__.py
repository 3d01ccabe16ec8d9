"""Invitations to an organization (a later issue)."""
