import math

import lib


def test_ch0_checkers():
    check = lib.checks.check
    assert check("ch0-ex1", math.sqrt(math.pi) / 2)
    assert not check("ch0-ex1", math.sqrt(math.pi))
    assert "factor" in check("ch0-ex1", math.sqrt(math.pi)).message
    assert check("ch0-ex2", 320_000)
    assert not check("ch0-ex2", 160_000)
    assert check("ch0-ex4", 0.006)
    assert not check("ch0-ex4", 0.012)
