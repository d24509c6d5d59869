"""``coach eval``: its options and usage errors (the run itself: tests/test_eval_fast.py)."""

from __future__ import annotations

import pytest

from coach.cli import main


@pytest.mark.parametrize(
    ("args", "says"),
    [
        (["eval", "--subset", "huge"], "invalid choice"),  # only fast or full
        (["eval", "--jobs", "0"], "--jobs: expected at least 1, found 0"),  # no workers
        (["eval", "--num-hands", "3"], "invalid choice"),  # MediaPipe: one or two hands
        (["eval", "--only", "no-such-clip"], "--only: expected part of a clip name"),  # no clip
        (["eval", "--variant", "-1"], "--variant: expected 0 or more, found -1"),  # no seeds < 0
    ],
)
def test_eval_usage_errors_exit_2_with_one_line(capsys, args, says):
    try:
        status = main(args)
    except SystemExit as exc:
        status = exc.code
    err = capsys.readouterr().err
    assert status == 2
    assert says in err
    assert "Traceback" not in err
