"""The privacy policy's rules on hand-made counts: small cells, secondary suppression, pooled categories,
and noise that depends only on the members, the cell and the key."""

from __future__ import annotations

import statistics

from fhir_server.cohorts import privacy
from fhir_server.cohorts.privacy import Noise

QUIET = Noise(b"k" * 32, "members", 1e9)  # noise of scale 1e-9: every draw rounds to 0


def _shown(cells):
    return {cell.label: cell.released for cell in cells}


def test_a_total_below_k_is_suppressed_and_one_at_k_is_released():
    assert privacy.protect_total(9, 10, QUIET).released is None
    assert privacy.protect_total(10, 10, QUIET).released == 10


def test_small_cells_are_suppressed_with_zero_among_them():
    cells = privacy.protect_breakdown("sex", {"female": 40, "male": 35}, 10, QUIET,
                                      fixed=("male", "female", "other", "unknown"))
    # other and unknown are 0: two suppressed cells that together hold nobody recover nothing new.
    assert _shown(cells) == {"male": 35, "female": 40, "other": None, "unknown": None}


def test_one_small_cell_takes_the_smallest_published_cell_with_it():
    cells = privacy.protect_breakdown("sex", {"female": 40, "male": 35, "unknown": 3}, 10, QUIET,
                                      fixed=("male", "female", "other", "unknown"))
    # unknown (3) and other (0) together hold 3 < 10: total - female - male would give 3 back.
    assert _shown(cells) == {"male": None, "female": 40, "other": None, "unknown": None}
    assert {cell.label: cell.why for cell in cells if cell.why} == {"male": "secondary", "other": "small",
                                                                    "unknown": "small"}


def test_a_lone_small_cell_is_never_left_alone():
    assert privacy.secondary({"a": 50, "b": 20, "c": 4}, {"c"}, 10) == ["b"]
    assert privacy.secondary({"a": 50, "b": 20, "c": 4, "d": 8}, {"c", "d"}, 10) == []  # 12 together
    assert privacy.secondary({"a": 50, "b": 20, "c": 4, "d": 3}, {"c", "d"}, 10) == ["b"]  # 7 together
    assert privacy.secondary({"a": 50, "b": 20}, set(), 10) == []


def test_categories_named_by_the_data_below_k_are_pooled_without_their_names():
    cells = privacy.protect_breakdown("diagnosis", {"E11": 50, "I10": 30, "Q87": 2, "E75": 3}, 10, QUIET)
    assert _shown(cells) == {"E11": 50, "I10": None, "other": None}  # other = 5 < 10, so I10 goes too
    assert "Q87" not in _shown(cells)


def test_a_pyramid_is_protected_row_by_row_and_column_by_column():
    counts = {("a", "f"): 50, ("a", "m"): 40, ("b", "f"): 30, ("b", "m"): 2, ("c", "f"): 20, ("c", "m"): 25}
    cells = privacy.protect_table("age-sex", counts, ("a", "b", "c"), ("f", "m"), 10, QUIET)
    # b|m (2) is small; row b takes b|f with it, column m takes c|m (the smallest there), and then column f
    # must hide c|f as well: the published margins minus a line's published cells recover nothing below 10.
    assert _shown(cells) == {"a|f": 50, "a|m": 40, "b|f": None, "b|m": None, "c|f": None, "c|m": None}
    assert {cell.label: cell.why for cell in cells if cell.why} == {
        "b|m": "small", "b|f": "secondary", "c|m": "secondary", "c|f": "secondary"}


def test_a_pyramid_pools_rows_outside_the_bands_into_other():
    cells = privacy.protect_table("age-sex", {("a", "f"): 30, ("unborn", "f"): 1}, ("a",), ("f",), 10, QUIET)
    assert [cell.label for cell in cells] == ["a|f", "other|f"]
    assert _shown(cells) == {"a|f": None, "other|f": None}


def test_a_suppressed_total_suppresses_every_cell():
    cells = privacy.protect_breakdown("sex", {"female": 6, "male": 3}, 10, QUIET, fixed=("male", "female"),
                                      total_suppressed=True)
    assert all(cell.released is None for cell in cells)


def test_noise_is_the_same_for_the_same_members_and_cell_and_differs_otherwise():
    noise = Noise(b"secret" * 6, "abc", 0.5)
    again = Noise(b"secret" * 6, "abc", 0.5)
    assert [noise.draw(f"cell{n}") for n in range(50)] == [again.draw(f"cell{n}") for n in range(50)]
    others = Noise(b"secret" * 6, "abd", 0.5)
    assert [noise.draw(f"cell{n}") for n in range(50)] != [others.draw(f"cell{n}") for n in range(50)]
    rekeyed = Noise(b"other!" * 6, "abc", 0.5)
    assert [noise.draw(f"cell{n}") for n in range(50)] != [rekeyed.draw(f"cell{n}") for n in range(50)]


def test_noise_is_laplace_with_scale_one_over_epsilon():
    draws = [Noise(b"x" * 32, f"members{n}", 0.5).draw("total") for n in range(20_000)]
    # Laplace(0, b=2): mean 0, mean absolute deviation b = 2 (rounding moves it by well under 0.1).
    assert abs(statistics.mean(draws)) < 0.1
    assert 1.85 < statistics.mean(abs(draw) for draw in draws) < 2.15


def test_a_released_count_never_looks_suppressed():
    noises = [Noise(b"y" * 32, f"m{n}", 0.01) for n in range(200)]  # scale 100: many draws push 12 below 10
    assert sum(1 for noise in noises if 12 + noise.draw("total") < 10) > 50
    assert all(privacy.release(12, 10, noise, "total") >= 10 for noise in noises)


def test_the_threshold_rule_answers_only_which_side_of_k():
    assert privacy.threshold(3, 20) == "<20" and privacy.threshold(20, 20) == ">=20"
