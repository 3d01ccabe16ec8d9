"""One-time links sent by email: magic-link sign-in (with its short code), email verification and
password reset; their emails, jobs and endpoints."""
