"""coach.vision.quiet: silencing native stderr is shared by threads and always undone (issue 12)."""

from __future__ import annotations

import os
import threading

from coach.vision.quiet import quiet_native_stderr


def _fd2() -> tuple[int, int]:
    st = os.fstat(2)
    return st.st_dev, st.st_ino


def test_overlapping_threads_give_stderr_back():
    # A enters, B enters, A leaves, B leaves: the interleaving that once left fd 2 on
    # /dev/null for good (B had saved A's /dev/null as "the real stderr").
    real = _fd2()
    devnull = os.stat(os.devnull)
    a_in, b_in, a_out = threading.Event(), threading.Event(), threading.Event()
    seen: dict[str, tuple[int, int]] = {}

    def a():
        with quiet_native_stderr():
            a_in.set()
            b_in.wait(5)
        a_out.set()

    def b():
        a_in.wait(5)
        with quiet_native_stderr():
            b_in.set()
            a_out.wait(5)
            seen["b_inside_after_a_left"] = _fd2()

    threads = [threading.Thread(target=a), threading.Thread(target=b)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(10)
    assert seen["b_inside_after_a_left"] == (devnull.st_dev, devnull.st_ino)  # still quiet
    assert _fd2() == real  # and the real stderr is back once both have left


def test_many_threads_at_once_leave_stderr_as_it_was():
    real = _fd2()
    start = threading.Barrier(8)

    def worker():
        start.wait(5)
        for _ in range(50):
            with quiet_native_stderr():
                pass

    threads = [threading.Thread(target=worker) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(20)
    assert _fd2() == real


def test_nested_use_in_one_thread():
    real = _fd2()
    with quiet_native_stderr():
        with quiet_native_stderr():
            pass
        assert _fd2() != real  # the outer block still silences
    assert _fd2() == real
