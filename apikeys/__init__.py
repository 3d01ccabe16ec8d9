"""Org-owned API keys and X-API-Key authentication (a later issue)."""
