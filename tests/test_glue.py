"""lib.glue writes the same display message as myst_nb.glue (which the book build reads)."""

import IPython.display
import numpy as np
import pytest

import lib.glue


def _captured(monkeypatch, target, attribute, call):
    seen = []
    monkeypatch.setattr(target, attribute, lambda *a, **k: seen.append((a, k)))
    call()
    return seen


@pytest.mark.parametrize("value", [0.1234, 3, "a string", np.float64(2.5)])
@pytest.mark.parametrize("display", [False, True])
def test_same_message_as_myst_nb(monkeypatch, value, display):
    import myst_nb.ext.glue as reference

    ours = _captured(monkeypatch, IPython.display, "display",
                     lambda: lib.glue.glue("key", value, display=display))
    theirs = _captured(monkeypatch, reference, "ipy_display",
                       lambda: reference.glue("key", value, display))
    assert ours == theirs and len(ours) == 1
    assert lib.glue.GLUE_PREFIX == reference.GLUE_PREFIX


def test_glued_value_is_hidden_unless_displayed(monkeypatch):
    (args, kwargs), = _captured(monkeypatch, IPython.display, "display",
                                lambda: lib.glue.glue("x", 1.5, display=False))
    assert list(args[0]) == ["application/papermill.record/text/plain"]
    assert kwargs["metadata"]["scrapbook"] == {"name": "x", "mime_prefix": lib.glue.GLUE_PREFIX}


@pytest.mark.parametrize("name", ["", None, 3])
def test_bad_name(name):
    with pytest.raises(ValueError, match="name must be a non-empty string"):
        lib.glue.glue(name, 1.0)
