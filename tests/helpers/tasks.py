"""Helpers for the health-check tests: run queued tasks the way ``db_worker --batch`` does, in-process."""

from __future__ import annotations

from unittest import mock

from django_tasks_db.management.commands import db_worker
from django_tasks_db.management.commands.db_worker import Worker
from django_tasks_db.models import DBTaskResult


def drain() -> int:
    """Run every ready task (not those whose ``run_after`` is still ahead) with the real worker loop.

    The worker calls ``close_old_connections()`` between tasks; inside a test's transaction that would
    close the test's own PostgreSQL connection (SQLite's in-memory test database ignores it), so it is
    switched off here. tests/connections/test_workers.py runs the real ``db_worker`` in a subprocess.
    """
    before = DBTaskResult.objects.exclude(status="READY").count()
    with mock.patch.object(db_worker, "close_old_connections"):
        _run_worker()
    return DBTaskResult.objects.exclude(status="READY").count() - before


def _run_worker() -> None:
    in_process_worker().run()


def in_process_worker(max_tasks: int | None = None) -> Worker:
    """The real worker, as ``db_worker --batch`` runs it on the default queue, in this process
    (``run()`` drains the queue; ``run_task(row)`` runs one task)."""
    return Worker(
        queue_names=["default"],
        interval=0,
        batch=True,
        backend_name="default",
        startup_delay=False,
        max_tasks=max_tasks,
        worker_id="test-worker",
        excluded_queue_names=[],
    )


def queued(task_name: str) -> list[DBTaskResult]:
    return [r for r in DBTaskResult.objects.filter(status="READY") if r.task_path.endswith(task_name)]


def use_in_process_hdp(settings) -> None:  # type: ignore[no-untyped-def]
    """Checks made by tasks reach the in-process emulator, as HdpClient.for_user builds its client."""
    settings.HDP_BASE_URL = "http://hdp"
    settings.HDP_TRANSPORT_FACTORY = "portal.sandbox.hdp.emulator.mock_transport"
    settings.HEALTH_CHECK_JITTER = 0
    settings.HEALTH_WEBHOOK_URL = ""
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
