"""What return_sequences and return_state give back: structure and shapes, NumPy and Keras."""

import numpy as np
import pytest
from helpers import assert_close, random_layer

B, T, D, H = 2, 7, 3, 4

SETTINGS = [
    # return_sequences, return_state, expected shapes
    (False, False, [(B, H)]),
    (True, False, [(B, T, H)]),
    (False, True, [(B, H), (B, H)]),
    (True, True, [(B, T, H), (B, H)]),
]


@pytest.mark.parametrize("return_sequences, return_state, shapes", SETTINGS)
def test_numpy_structure(return_sequences, return_state, shapes, rng):
    layer = random_layer(H, D, rng, return_sequences=return_sequences, return_state=return_state)
    result = layer(rng.normal(size=(B, T, D)).astype(np.float32))
    if return_state:
        assert isinstance(result, tuple) and len(result) == 2
        assert [r.shape for r in result] == shapes
        output, state = result
        # Many-to-one: the output is the final state. Many-to-many: its last step is.
        last = output[:, -1] if return_sequences else output
        np.testing.assert_array_equal(last, state)
    else:
        assert isinstance(result, np.ndarray) and [result.shape] == shapes


@pytest.mark.keras
@pytest.mark.parametrize("return_sequences, return_state, shapes", SETTINGS)
def test_keras_structure_is_the_same(return_sequences, return_state, shapes, rng):
    from rnn_core import keras_bridge as kb

    layer = random_layer(H, D, rng, return_sequences=return_sequences, return_state=return_state)
    x = rng.normal(size=(B, T, D)).astype(np.float32)
    mine = layer(x)
    theirs = kb.run_layer(kb.build_simple_rnn(layer.config, x.shape, layer.get_weights()), x)
    assert type(theirs) is type(mine)   # Keras 3: a tuple (output, state), not a list
    if return_state:
        assert [t.shape for t in theirs] == shapes
        for i, (a, b) in enumerate(zip(mine, theirs, strict=True)):
            assert_close(a, b, f"part {i}")
    else:
        assert [theirs.shape] == shapes
        assert_close(mine, theirs, "output")
