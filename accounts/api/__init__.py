"""The accounts HTTP API, one module per flow: ``sign_in`` (register, login, OAuth2 token),
``sessions`` (refresh, switch-org, logout, session list), ``me``; ``outputs`` holds the token-pair
shapes every sign-in answers with, ``common`` the pieces the views share."""
