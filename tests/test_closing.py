"""coach.vision.closing: `with` returns the object and closes it on the way out."""

import pytest

from coach.vision.closing import Closing


class _Resource(Closing):
    def __init__(self) -> None:
        self.closed = 0

    def close(self) -> None:
        self.closed += 1


def test_with_returns_the_object_and_closes_it_once():
    resource = _Resource()
    with resource as entered:
        assert entered is resource
        assert resource.closed == 0
    assert resource.closed == 1


def test_closes_when_the_block_raises_and_lets_the_error_through():
    resource = _Resource()
    with pytest.raises(ValueError, match="boom"), resource:
        raise ValueError("boom")
    assert resource.closed == 1


def test_a_subclass_without_close_says_so():
    with pytest.raises(NotImplementedError), Closing():
        pass
