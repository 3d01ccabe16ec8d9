"""Views that run outside the request transaction (``ATOMIC_REQUESTS``) and manage their own."""

from __future__ import annotations

from django.db import transaction


class OutsideRequestTransaction:
    """Mixin for an ``APIView`` whose work must outlive its own error response: a refresh replay's
    revocation, a failed sign-in's audit event. Its services open their own transactions.

    DRF's error path marks the enclosing transaction for rollback; there is none in production, and
    ``core.exception_handler`` leaves any enclosing one (a test's) alone for these views.
    """

    outside_request_transaction = True

    @classmethod
    def as_view(cls, **initkwargs):
        return transaction.non_atomic_requests(super().as_view(**initkwargs))
