import threading

import pytest

from fssuavl_app.core.background import InBackground

pytestmark = pytest.mark.unit


def test_runs_while_the_caller_works_and_returns_the_value():
    caller_done = threading.Event()

    def build():
        assert caller_done.wait(timeout=10), "the constructor waited for build()"
        return {"ready": True}

    pending = InBackground(build)
    caller_done.set()  # only reached because the constructor did not block
    assert pending.result() == {"ready": True}
    assert pending.result() == {"ready": True}  # asking twice is fine


def test_the_builds_error_is_raised_in_the_caller():
    def build():
        raise ValueError("synthetic-sounds/train: no item could be decoded")

    pending = InBackground(build)
    with pytest.raises(ValueError, match="no item could be decoded"):
        pending.result()


def test_the_thread_does_not_hold_up_the_process():
    release = threading.Event()
    pending = InBackground(lambda: release.wait(timeout=10), name="slow-inputs")
    assert pending._thread.daemon and pending._thread.name == "slow-inputs"
    release.set()
    assert pending.result() is True
