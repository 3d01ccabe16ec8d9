"""Input fields that take only what the schema says: DRF would coerce an integer into a string or UUID."""

from __future__ import annotations

from rest_framework import serializers
from rest_framework.validators import ProhibitSurrogateCharactersValidator


class _SurrogateCheck(ProhibitSurrogateCharactersValidator):
    """DRF's check, skipped for ASCII text (which has no surrogates): DRF walks every character in
    Python, some 40 µs for a refresh token on each request; ``str.isascii`` answers in C."""

    def __call__(self, value) -> None:
        if not (isinstance(value, str) and value.isascii()):
            super().__call__(value)


class StrictCharField(serializers.CharField):
    """A string field that refuses numbers and booleans (DRF's ``CharField`` turns ``7`` into ``"7"``)."""

    default_error_messages = {"invalid": "Not a valid string."}

    def __init__(self, **kwargs) -> None:
        super().__init__(**kwargs)
        self.validators = [
            _SurrogateCheck() if type(validator) is ProhibitSurrogateCharactersValidator else validator
            for validator in self.validators
        ]

    def to_internal_value(self, data):
        if not isinstance(data, str):
            self.fail("invalid")
        return super().to_internal_value(data)


class StrictEmailField(serializers.EmailField, StrictCharField):
    """An email given as a string, within ``max_length`` also once lower-cased (as it is stored:
    ``"İ".lower()`` is two characters, so a 254-character address could grow past the column)."""

    def to_internal_value(self, data):
        value = super().to_internal_value(data)
        if self.max_length is not None and len(value.lower()) > self.max_length:
            self.fail("max_length", max_length=self.max_length)
        return value


class StrictUUIDField(serializers.UUIDField):
    """A UUID given as a string: DRF's ``UUIDField`` would also take an integer (``uuid.UUID(int=...)``)."""

    def to_internal_value(self, data):
        if not isinstance(data, str):
            self.fail("invalid", value=data)
        return super().to_internal_value(data)


class StrictBooleanField(serializers.BooleanField):
    """JSON ``true`` or ``false`` only: DRF's ``BooleanField`` would also take ``0``, ``"yes"``, ``"on"``."""

    def to_internal_value(self, data):
        if not isinstance(data, bool):
            self.fail("invalid", input=data)
        return data


def validated(serializer_class, request, *, query: bool = False) -> dict:
    """The request body (the query string with ``query``) through ``serializer_class``: its validated
    data, or DRF's 400 field map."""
    serializer = serializer_class(data=request.query_params if query else request.data)
    serializer.is_valid(raise_exception=True)
    return serializer.validated_data


class QuerySerializer(serializers.Serializer):
    """A query string's parameters: one given empty (``?search=``) is a mistake, not "no filter" (DRF
    takes an empty optional parameter of a query string as absent)."""

    def to_internal_value(self, data):
        blank = {name: ["This field may not be blank."] for name in self.fields if data.get(name, None) == ""}
        if blank:
            raise serializers.ValidationError(blank)
        return super().to_internal_value(data)
