"""The support chain's per-object HDP reads run a few at a time (``reads.each``), in order, with
the first HDP failure raised; never more than ``READ_WORKERS`` at once. Each read runs in a copy of the
request's context (its log lines carry the request's id and redactions) and hands back what it
registered for redaction."""

from __future__ import annotations

import threading
import time

import pytest

from portal.hdp import errors
from portal.lib import logging as portal_logging
from portal.lib.logging import REDACTED, redact, register_secret, request_context, set_request_context
from portal.support import reads


@pytest.fixture(autouse=True)
def _fresh_log_context():
    """No secret or request id of one test stays registered for the next (as at a request's start)."""
    portal_logging._clear_on_request_started()
    yield
    portal_logging._clear_on_request_started()


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


@pytest.mark.parametrize("count", [2, 8, 9, 40])
def test_the_caller_reads_one_item_only_while_the_pool_has_a_thread_for_each_other(settings, count):
    """Up to READ_WORKERS items: the calling thread reads the first, one pool thread each of the others.
    More: READ_WORKERS pool threads read them all, so READ_WORKERS reads stay in flight to the end of a
    long list (with the caller taking one, a 1,000-object chain kept one read fewer in flight)."""
    settings.HDP_TRANSPORT_FACTORY = None
    caller, threads, lock = threading.get_ident(), [], threading.Lock()
    # Each read waits until as many reads as may run at once are in flight (at most 5 s), so no pool
    # thread finishes early and is reused for a later item, however slowly the machine starts threads.
    in_flight, everyone = [0], threading.Event()

    def read(n: int) -> int:
        with lock:
            threads.append((n, threading.get_ident()))
            in_flight[0] += 1
            if in_flight[0] >= min(count, reads.READ_WORKERS):
                everyone.set()
        everyone.wait(timeout=5)
        return n

    assert reads.each(list(range(count)), read) == list(range(count))
    by_caller = [n for n, ident in threads if ident == caller]
    if count <= reads.READ_WORKERS:
        assert by_caller == [0] and len({ident for _n, ident in threads}) == count
    else:
        assert by_caller == [] and len({ident for _n, ident in threads}) == reads.READ_WORKERS


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


def test_concurrent_reads_run_in_the_requests_context_and_hand_back_their_secrets(settings):
    settings.HDP_TRANSPORT_FACTORY = None
    set_request_context(request_id="req-each")
    register_secret("registered-by-the-request")
    seen = []

    def read(n: int) -> int:
        seen.append(
            (request_context().get("request_id"), redact("registered-by-the-request"), threading.get_ident())
        )
        register_secret(f"secret-number-{n}")
        return n

    assert reads.each(list(range(4)), read) == [0, 1, 2, 3]
    assert {thread for *_, thread in seen} - {threading.get_ident()}  # the pool's threads did read
    # Before: a pool thread had an empty context, so its log lines had no request id and no redactions.
    assert [(rid, text) for rid, text, _ in seen] == [("req-each", REDACTED)] * 4
    assert redact("secret-number-0 secret-number-3") == f"{REDACTED} {REDACTED}"
