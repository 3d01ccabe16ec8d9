# Transactional tests flush the database as the owner (see tests/tenants/owner_teardown.py).
from tests.tenants.owner_teardown import pytest_runtest_teardown  # noqa: F401
