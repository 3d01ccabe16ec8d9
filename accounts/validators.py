"""Password rules beyond Django's validators (NIST SP 800-63B: length, blocklist, no composition)."""

from __future__ import annotations

from django.core.exceptions import ValidationError


class MaximumLengthValidator:
    """Refuse passwords longer than ``max_length`` characters (never truncate them)."""

    def __init__(self, max_length: int = 128) -> None:
        self.max_length = max_length

    def validate(self, password: str, user=None) -> None:
        if len(password) > self.max_length:
            raise ValidationError(
                f"This password is too long. It must contain at most {self.max_length} characters.",
                code="password_too_long",
            )

    def get_help_text(self) -> str:
        return f"Your password must contain at most {self.max_length} characters."
