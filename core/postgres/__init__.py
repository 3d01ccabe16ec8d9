"""The project's Postgres database backend (``ENGINE = "core.postgres"``): Django's own, plus the two
round-trip savers of the request path. See :mod:`core.postgres.base`."""
