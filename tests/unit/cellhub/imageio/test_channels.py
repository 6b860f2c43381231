"""select_channels picks what a model sees; bad indices are InvalidParameter with a clear reason."""

from __future__ import annotations

import numpy as np
import pytest

from cellhub.errors import InvalidParameter
from cellhub.imageio import select_channels
from cellhub.imageio.channels import to_native_yxc

PIXELS = np.arange(2 * 3 * 4, dtype=np.uint16).reshape(2, 3, 4)


def test_none_keeps_every_channel() -> None:
    assert select_channels(PIXELS, None) is PIXELS


def test_selection_keeps_the_given_order() -> None:
    chosen = select_channels(PIXELS, [2, 0])
    assert chosen.shape == (2, 3, 2)
    np.testing.assert_array_equal(chosen[..., 0], PIXELS[..., 2])
    np.testing.assert_array_equal(chosen[..., 1], PIXELS[..., 0])
    assert chosen.dtype == np.uint16


def test_single_channel_stays_three_dimensional() -> None:
    assert select_channels(PIXELS, [1]).shape == (2, 3, 1)


def test_negative_index_counts_from_the_end() -> None:
    np.testing.assert_array_equal(select_channels(PIXELS, [-1])[..., 0], PIXELS[..., 3])


def test_out_of_range_index_is_invalid_parameter() -> None:
    with pytest.raises(
        InvalidParameter, match=r"index 4 is out of range .* 4 channels \(valid: 0\.\.3\)"
    ):
        select_channels(PIXELS, [0, 4])


def test_out_of_range_negative_index_is_invalid_parameter() -> None:
    with pytest.raises(InvalidParameter, match="index -5"):
        select_channels(PIXELS, [-5])


def test_empty_selection_is_invalid_parameter() -> None:
    with pytest.raises(InvalidParameter, match="at least one"):
        select_channels(PIXELS, [])


def test_non_integer_index_is_invalid_parameter() -> None:
    with pytest.raises(InvalidParameter, match="not a channel index"):
        select_channels(PIXELS, [1.0])  # type: ignore[list-item]


def test_two_dimensional_input_is_invalid_parameter() -> None:
    with pytest.raises(InvalidParameter, match=r"\(Y, X, C\)"):
        select_channels(PIXELS[..., 0], [0])


def test_error_carries_a_machine_readable_code() -> None:
    with pytest.raises(InvalidParameter) as caught:
        select_channels(PIXELS, [9])
    assert caught.value.as_dict()["code"] == "invalid_parameter"


def test_bool_becomes_uint8_0_255() -> None:
    out = to_native_yxc(np.array([[True, False]]))
    assert out.dtype == np.uint8
    assert out.shape == (1, 2, 1)
    assert out[..., 0].tolist() == [[255, 0]]
