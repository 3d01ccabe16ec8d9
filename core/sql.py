"""Small helpers for the few hand-written hot-path queries: column lists and rows from model metadata."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any


class ModelColumns:
    """A model's concrete columns under a table alias, to SELECT them and rebuild instances from rows."""

    def __init__(self, model, alias: str) -> None:
        fields = model._meta.concrete_fields
        self.model = model
        self.attnames = [field.attname for field in fields]
        self.sql = ", ".join(f'{alias}."{field.column}"' for field in fields)
        self.width = len(fields)

    def instance(self, row: Sequence[Any], start: int = 0):
        """The model instance held in ``row[start:start + width]`` (as if loaded by the ORM)."""
        return self.model.from_db("default", self.attnames, row[start : start + self.width])
