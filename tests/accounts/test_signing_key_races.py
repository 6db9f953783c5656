"""Concurrent first starts and rotations on PostgreSQL: always exactly one current key."""

import threading

import pytest
from django.db import connection

from accounts import tokens
from accounts.flows.keys import signing_key_rotate
from accounts.models import SigningKey

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]


def _together(n: int, work) -> list:
    barrier, results, lock = threading.Barrier(n), [], threading.Lock()

    def run():
        barrier.wait()
        try:
            outcome = work()
        except Exception as exc:
            outcome = exc
        finally:
            connection.close()
        with lock:
            results.append(outcome)

    threads = [threading.Thread(target=run) for _ in range(n)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    return results


def test_instances_starting_together_on_an_empty_table_agree_on_one_key():
    results = _together(8, tokens.signing_key_ensure)
    assert not [r for r in results if isinstance(r, Exception)], results
    assert len({key.kid for key in results}) == 1
    assert SigningKey.objects.filter(state=SigningKey.State.CURRENT).count() == 1


def test_concurrent_rotations_each_succeed_and_leave_one_current_key():
    tokens.signing_key_ensure()
    results = _together(6, signing_key_rotate)
    assert not [r for r in results if isinstance(r, Exception)], results
    assert SigningKey.objects.filter(state=SigningKey.State.CURRENT).count() == 1
    assert SigningKey.objects.filter(state=SigningKey.State.VERIFYING).count() == 6
