"""Sign-in with external identity providers: a provider registry (Google today), ID-token verification,
the authorization-code flow with PKCE, and the identities linked to each user."""
