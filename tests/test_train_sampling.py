"""Frame and crop sampling: exact indices for training segments, test centres, short clips."""

from __future__ import annotations

import numpy as np
import pytest

from mgrdark_train.data.sampling import crop_origin, eval_indices, segment_bounds, train_indices


@pytest.mark.parametrize(
    ("n", "t", "expected"),
    [
        (10, 4, [1, 3, 6, 8]),  # centres 1.25, 3.75, 6.25, 8.75
        (8, 8, list(range(8))),
        (100, 5, [10, 30, 50, 70, 90]),
        (3, 8, [0, 0, 0, 1, 1, 2, 2, 2]),  # T > n: frames repeat, in order
        (1, 4, [0, 0, 0, 0]),
    ],
)
def test_eval_indices_are_segment_centres(n, t, expected):
    assert eval_indices(n, t).tolist() == expected


@pytest.mark.parametrize("n", [1, 2, 5, 7, 31, 32, 33, 45, 210])
@pytest.mark.parametrize("t", [1, 3, 8, 32])
def test_train_indices_stay_inside_their_segment(n, t):
    lo, hi = segment_bounds(n, t)
    rng = np.random.default_rng(n * 100 + t)
    seen = np.zeros(n, bool)
    for _ in range(200):
        idx = train_indices(n, t, rng)
        assert idx.shape == (t,) and idx.dtype == np.int64
        assert np.all(idx >= lo) and np.all(idx <= hi)
        assert np.all(np.diff(idx) >= 0)
        seen[idx] = True
    if 200 * t >= 20 * n:
        # Random offsets reach every frame that some segment overlaps (here: all of them).
        assert seen.all()


def test_train_indices_with_one_frame_per_segment_are_exact():
    rng = np.random.default_rng(0)
    assert train_indices(16, 16, rng).tolist() == list(range(16))


def test_segment_bounds_for_short_clip():
    lo, hi = segment_bounds(3, 6)  # each frame spans two segments
    assert lo.tolist() == [0, 0, 1, 1, 2, 2]
    assert hi.tolist() == [0, 0, 1, 1, 2, 2]


def test_crop_origin():
    assert crop_origin(256, 224, train=False) == (16, 16)
    rng = np.random.default_rng(0)
    corners = {crop_origin(10, 8, train=True, rng=rng) for _ in range(300)}
    assert {y for y, _ in corners} == {0, 1, 2} and {x for _, x in corners} == {0, 1, 2}
    with pytest.raises(ValueError, match="larger"):
        crop_origin(8, 10, train=False)


def test_invalid_sizes_raise():
    with pytest.raises(ValueError):
        eval_indices(0, 4)
    with pytest.raises(ValueError):
        train_indices(5, 0, np.random.default_rng(0))
