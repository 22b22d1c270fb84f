"""Data that every test of one class starts from, built once per class: Django's
``TestCase.setUpTestData`` for pytest.

The class's data is written inside an outer transaction that stays open while the class's tests run;
pytest-django wraps each test in its own transaction, which inside the outer one is a savepoint, so what a
test writes is rolled back at its end exactly as before and the next test starts from the class's data
again. The outer transaction is rolled back when the class's last test has run (or when pytest-xdist
hands this process a test of another class first: the data is then built again for the rest).

Only for classes whose tests are all non-transactional (``transaction=True``, ``live_server`` or a
browser would flush the tables from under the outer transaction).
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

from django.db import transaction


@contextlib.contextmanager
def kept_for_the_class(django_db_blocker) -> Iterator[None]:
    """Use in a ``scope="class"`` fixture, and build the data inside ``django_db_blocker.unblock()``."""
    with django_db_blocker.unblock():
        outer = transaction.atomic()
        outer.__enter__()
    try:
        yield
    finally:
        with django_db_blocker.unblock():
            transaction.set_rollback(True)
            outer.__exit__(None, None, None)
