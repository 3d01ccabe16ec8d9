"""API keys for server-to-server calls: org-owned, stored as digests, scoped, expiring; the X-API-Key
authentication and the org/api-keys/ endpoints."""
