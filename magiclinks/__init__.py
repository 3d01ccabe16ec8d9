"""One-time sign-in links and password-reset tokens (a later issue)."""
