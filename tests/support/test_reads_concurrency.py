"""The support chain's per-object HDP reads run a few at a time (``reads.each``), in order, with
the first HDP failure raised; never more than ``READ_WORKERS`` at once."""

from __future__ import annotations

import threading
import time

import pytest

from portal.hdp import errors
from portal.support import reads


def test_reads_run_at_most_read_workers_at_once_and_keep_their_order(settings):
    settings.HDP_TRANSPORT_FACTORY = None  # a real network transport: reads may overlap
    running, peak, lock = [0], [0], threading.Lock()

    def read(n: int) -> int:
        with lock:
            running[0] += 1
            peak[0] = max(peak[0], running[0])
        time.sleep(0.02)
        with lock:
            running[0] -= 1
        return n * n

    assert reads.each(list(range(40)), read) == [n * n for n in range(40)]
    assert 1 < peak[0] <= reads.READ_WORKERS


def test_the_first_hdp_failure_is_raised(settings):
    settings.HDP_TRANSPORT_FACTORY = None

    def read(n: int) -> int:
        if n == 3:
            raise errors.HdpUnavailable("HDP at hdp.test did not answer in time.", delivery="unknown")
        return n

    with pytest.raises(errors.HdpUnavailable, match="did not answer"):
        reads.each(list(range(10)), read)


def test_an_in_process_transport_is_read_one_at_a_time(settings):
    settings.HDP_TRANSPORT_FACTORY = "tests.helpers.wizard.counting_transport"
    threads = set()
    reads.each(list(range(5)), lambda n: threads.add(threading.get_ident()))
    assert threads == {threading.get_ident()}
