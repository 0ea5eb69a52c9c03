"""The shared HiGHS set-up: silent, seeded, and the programme it is given is the one solved."""

from __future__ import annotations

import highspy
import numpy as np
import pytest

from bankanalysis.lp import highs_model, silent_highs

INF = highspy.kHighsInf


def _two_variables(options=None):
    # max x + y  s.t.  x + 2y <= 4,  3x + y <= 6,  x, y >= 0  ->  x = 8/5, y = 6/5
    return highs_model(
        [(0, 0, 1.0), (0, 1, 2.0), (1, 0, 3.0), (1, 1, 1.0)],
        (2, 2),
        np.array([-1.0, -1.0]),
        (np.zeros(2), np.full(2, INF)),
        (np.full(2, -INF), np.array([4.0, 6.0])),
        options=options,
    )


def test_highs_model_solves_the_programme_it_is_given():
    h = _two_variables()
    h.run()
    assert h.getModelStatus() == highspy.HighsModelStatus.kOptimal
    x = np.asarray(h.getSolution().col_value)
    np.testing.assert_allclose(x, [1.6, 1.2], atol=1e-9)
    assert h.getInfo().objective_function_value == pytest.approx(-2.8, abs=1e-9)


def test_highs_model_sums_repeated_entries_and_keeps_its_placeholders():
    # (0, 0) given twice: 0.5 + 0.5 = 1; the placeholder (1, 0) is changed after the pass
    h = highs_model(
        [(0, 0, 0.5), (0, 1, 2.0), (0, 0, 0.5), (1, 0, 1.0), (1, 1, 1.0)],
        (2, 2),
        np.array([-1.0, -1.0]),
        (np.zeros(2), np.full(2, INF)),
        (np.full(2, -INF), np.array([4.0, 6.0])),
    )
    a = h.getLp().a_matrix_
    assert list(a.start_) == [0, 2, 4]
    assert list(a.index_) == [0, 1, 0, 1]
    assert list(a.value_) == [1.0, 1.0, 2.0, 1.0]
    h.changeCoeff(1, 0, 3.0)
    h.run()
    np.testing.assert_allclose(h.getSolution().col_value, [1.6, 1.2], atol=1e-9)


def test_the_set_up_and_extra_options_are_applied():
    default = silent_highs().getOptionValue("simplex_scale_strategy")[1]
    plain, unscaled = _two_variables(), _two_variables({"simplex_scale_strategy": 0})
    for h in (plain, unscaled):
        assert h.getOptionValue("output_flag")[1] is False
        assert h.getOptionValue("random_seed")[1] == 0
        assert h.getOptionValue("presolve")[1] == "off"
        assert h.getOptionValue("solver")[1] == "simplex"
    assert default != 0
    assert plain.getOptionValue("simplex_scale_strategy")[1] == default
    assert unscaled.getOptionValue("simplex_scale_strategy")[1] == 0
    unscaled.run()
    np.testing.assert_allclose(unscaled.getSolution().col_value, [1.6, 1.2], atol=1e-9)


def test_an_option_highs_refuses_is_an_error():
    with pytest.raises(ValueError, match="no_such_option"):
        _two_variables({"no_such_option": 1})
    with pytest.raises(ValueError, match="presolve"):
        _two_variables({"presolve": 3})


def test_nothing_is_printed(capfd):
    h = _two_variables()
    h.run()
    out, err = capfd.readouterr()
    assert out == "" and err == ""
