"""The abstract base of every tenant table."""

from __future__ import annotations

import uuid

from django.db import models


class TenantScopedModel(models.Model):
    """Base for every table that belongs to one org: a UUID key and ``org_id``, under RLS.

    A subclass's migration must apply :class:`EnableRowLevelSecurity` after creating the table; the
    self-check (``tenants.rls.checks``) fails for any subclass whose table lacks it.
    """

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    org = models.ForeignKey("tenants.Organization", on_delete=models.CASCADE, related_name="+")

    class Meta:
        abstract = True
