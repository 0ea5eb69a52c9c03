"""DEA models against a published example and the identities between models."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from bankanalysis.benchmarking.dea import DeaInputError, dea, dea_scores, dea_summary

# Cooper, Seiford & Tone, Data Envelopment Analysis (2nd ed.), the 12-hospital example:
# inputs doctors, nurses; outputs outpatients, inpatients.
HOSPITALS = {
    "A": (20, 151, 100, 90),
    "B": (19, 131, 150, 50),
    "C": (25, 160, 160, 55),
    "D": (27, 168, 180, 72),
    "E": (22, 158, 94, 66),
    "F": (55, 255, 230, 90),
    "G": (33, 235, 220, 88),
    "H": (31, 206, 152, 80),
    "I": (30, 244, 190, 100),
    "J": (50, 268, 250, 100),
    "K": (53, 306, 260, 147),
    "L": (38, 284, 250, 120),
}
PUBLISHED_CCR_INPUT = {
    "A": 1.0,
    "B": 1.0,
    "C": 0.883,
    "D": 1.0,
    "E": 0.763,
    "F": 0.835,
    "G": 0.902,
    "H": 0.796,
    "I": 0.960,
    "J": 0.871,
    "K": 0.955,
    "L": 0.958,
}


@pytest.fixture()
def hospitals() -> tuple[pd.DataFrame, pd.DataFrame]:
    df = pd.DataFrame.from_dict(
        HOSPITALS, orient="index", columns=["doctors", "nurses", "outpatients", "inpatients"]
    ).astype(float)
    return df[["doctors", "nurses"]], df[["outpatients", "inpatients"]]


def test_ccr_input_reproduces_published_hospital_scores(hospitals):
    X, Y = hospitals
    raw = dea(X, Y, "input", "crs").scores["efficiency"]
    assert raw.round(3).to_dict() == PUBLISHED_CCR_INPUT
    # efficient units score exactly 1 (solver noise snapped), so they tie in rankings
    assert raw[raw == 1.0].index.tolist() == ["A", "B", "D"]


def test_fast_scores_equal_full_model(hospitals):
    X, Y = hospitals
    full = dea(X, Y, "input", "crs").scores["efficiency"].to_numpy()
    for skip in (True, False):
        fast = dea_scores(X.to_numpy(), Y.to_numpy(), "input", "crs", skip_efficient=skip)
        np.testing.assert_allclose(fast, full, atol=1e-9)


def test_bcc_at_least_ccr_and_scale_efficiency_is_the_ratio(hospitals):
    X, Y = hospitals
    s = dea_summary(X, Y)
    assert (s["bcc"] >= s["ccr"] - 1e-9).all()
    np.testing.assert_allclose(s["scale_efficiency"], s["ccr"] / s["bcc"])
    # G: BCC-efficient (smallest nurses per outpatient among large units) but not CCR-efficient
    assert s.loc["G", "bcc"] == pytest.approx(1.0, abs=1e-9)
    assert s.loc["G", "returns_to_scale"] == "non-constant"
    assert s.loc["A", "returns_to_scale"] == "constant"


def test_output_ccr_is_reciprocal_of_input_ccr(hospitals):
    X, Y = hospitals
    inp = dea(X, Y, "input", "crs").scores
    out = dea(X, Y, "output", "crs").scores
    np.testing.assert_allclose(out["radial"], 1.0 / inp["radial"], rtol=1e-8)
    np.testing.assert_allclose(out["efficiency"], inp["efficiency"], rtol=1e-8)


def test_targets_lie_on_frontier_and_peers_are_efficient(hospitals):
    X, Y = hospitals
    res = dea(X, Y, "input", "crs")
    s = res.scores
    eff = s["efficiency"]
    # every reference peer is itself efficient
    assert (eff[res.lambdas["peer"].unique()] > 1 - 1e-9).all()
    # the projected units (targets) are efficient when evaluated against the original set
    tx = s[["target_doctors", "target_nurses"]].set_axis(["doctors", "nurses"], axis=1)
    ty = s[["target_outpatients", "target_inpatients"]].set_axis(
        ["outpatients", "inpatients"], axis=1
    )
    for unit in ["C", "E", "F", "J"]:
        Xa = pd.concat([X, tx.loc[[unit]].rename(index={unit: "T"})])
        Ya = pd.concat([Y, ty.loc[[unit]].rename(index={unit: "T"})])
        assert dea(Xa, Ya).scores.loc["T", "efficiency"] == pytest.approx(1.0, abs=1e-7)
    # targets = lambda-combination of the peers (hand check for hospital C)
    lam = res.lambdas[res.lambdas["unit"] == "C"].set_index("peer")["weight"]
    np.testing.assert_allclose(
        (X.loc[lam.index].T @ lam).to_numpy(),
        tx.loc["C"].to_numpy(),
        rtol=1e-7,
    )
    # C's radial target keeps outputs; the slack stage finds the doctor slack
    assert s.loc["C", "target_nurses"] == pytest.approx(0.883 * 160, abs=0.1)


def test_simple_one_input_one_output_by_hand():
    # ratio y/x: a=1, b=0.5, c=1 -> CCR input efficiency 1, 0.5, 1; the peer of b is a or c
    X = pd.DataFrame({"staff": [2.0, 4.0, 4.0]}, index=["a", "b", "c"])
    Y = pd.DataFrame({"sales": [2.0, 2.0, 4.0]}, index=["a", "b", "c"])
    s = dea(X, Y).scores
    assert s["efficiency"].round(9).tolist() == [1.0, 0.5, 1.0]
    assert s.loc["b", "target_staff"] == pytest.approx(2.0)
    # BCC: b is dominated by a (same output, half the input) -> 0.5 as well; c is efficient
    v = dea(X, Y, rts="vrs").scores
    assert v["efficiency"].round(9).tolist() == [1.0, 0.5, 1.0]
    # output orientation: b could produce 4 with its 4 staff -> phi = 2
    o = dea(X, Y, "output").scores
    assert o.loc["b", "radial"] == pytest.approx(2.0)
    assert o.loc["b", "target_sales"] == pytest.approx(4.0)


def test_groups_build_separate_frontiers():
    X = pd.DataFrame({"staff": [2.0, 4.0, 2.0, 4.0]}, index=list("abcd"))
    Y = pd.DataFrame({"sales": [2.0, 2.0, 1.0, 1.0]}, index=list("abcd"))
    pooled = dea(X, Y).scores["efficiency"]
    grouped = dea(X, Y, groups=pd.Series([1, 1, 2, 2], index=X.index)).scores
    assert pooled.round(6).tolist() == [1.0, 0.5, 0.5, 0.25]
    assert grouped["efficiency"].round(6).tolist() == [1.0, 0.5, 1.0, 0.5]
    assert grouped["group"].tolist() == [1, 1, 2, 2]


def test_output_orientation_without_output_scores_zero():
    X = np.array([[1.0], [1.0]])
    Y = np.array([[1.0], [0.0]])
    assert dea_scores(X, Y, "output").tolist() == [1.0, 0.0]


def test_bad_inputs_are_refused_with_examples():
    X = pd.DataFrame({"devices": [0.0, 2.0, 1.0]}, index=["o1", "o2", "o3"])
    Y = pd.DataFrame({"sales": [1.0, -1.0, 1.0]}, index=["o1", "o2", "o3"])
    with pytest.raises(DeaInputError) as exc:
        dea(X, Y)
    msg = str(exc.value)
    assert "input <= 0" in msg and "o1" in msg
    assert "negative output" in msg and "o2" in msg
    with pytest.raises(DeaInputError, match="orientation"):
        dea(X.abs() + 1, Y.abs(), orientation="sideways")


def test_parallel_chunks_match_single_process():
    rng = np.random.default_rng(3)
    X = rng.uniform(1, 5, (240, 2))
    Y = rng.uniform(0.5, 1.0, (240, 2)) * X.sum(axis=1, keepdims=True)
    one = dea_scores(X, Y, rts="vrs")
    two = dea_scores(X, Y, rts="vrs", n_jobs=2)
    np.testing.assert_allclose(one, two, atol=1e-9)
    assert (one <= 1 + 1e-12).all() and (one > 0).all()


def _linprog_two_phase(X, Y, o, orientation, rts):
    """Independent reference: scipy linprog, radial stage then max slack sum (mean-scaled)."""
    from scipy.optimize import linprog

    Xs, Ys = X / X.mean(axis=0), Y / Y.mean(axis=0)
    n, m = Xs.shape
    s = Ys.shape[1]
    # variables: radial, lambda (n), s_minus (m), s_plus (s); equality rows
    A = np.zeros((m + s, 1 + n + m + s))
    b = np.zeros(m + s)
    if orientation == "input":
        A[:m, 0] = -Xs[o]
        A[m:, 0] = 0.0
        b[m:] = Ys[o]
    else:
        A[m:, 0] = -Ys[o]
        b[:m] = Xs[o]
    A[:m, 1 : n + 1] = Xs.T
    A[m:, 1 : n + 1] = Ys.T
    A[:m, 1 + n : 1 + n + m] = np.eye(m)
    A[m:, 1 + n + m :] = -np.eye(s)
    A_eq, b_eq = A, b
    if rts == "vrs":
        A_eq = np.vstack([A, np.r_[0.0, np.ones(n), np.zeros(m + s)]])
        b_eq = np.r_[b, 1.0]
    c1 = np.zeros(A.shape[1])
    c1[0] = 1.0 if orientation == "input" else -1.0
    r1 = linprog(c1, A_eq=A_eq, b_eq=b_eq, method="highs")
    rad = r1.x[0]
    c2 = np.r_[0.0, np.zeros(n), -np.ones(m + s)]
    bounds = [(rad, rad)] + [(0, None)] * (n + m + s)
    r2 = linprog(c2, A_eq=A_eq, b_eq=b_eq, bounds=bounds, method="highs")
    return rad, -r2.fun


@pytest.mark.parametrize("orientation", ["input", "output"])
@pytest.mark.parametrize("rts", ["crs", "vrs"])
def test_radial_scores_and_slack_sums_match_independent_linprog(orientation, rts):
    rng = np.random.default_rng(11)
    X = rng.uniform(1, 10, (25, 2))
    Y = rng.uniform(0.2, 1.0, (25, 3)) * X.sum(axis=1, keepdims=True)
    res = dea(X, Y, orientation, rts).scores
    sx, sy = X.mean(axis=0), Y.mean(axis=0)
    for o in range(25):
        rad, slack_sum = _linprog_two_phase(X, Y, o, orientation, rts)
        assert res["radial"].iloc[o] == pytest.approx(rad, abs=1e-7)
        ours = (res[["slack_x0", "slack_x1"]].iloc[o] / sx).sum() + (
            res[["slack_y0", "slack_y1", "slack_y2"]].iloc[o] / sy
        ).sum()
        assert ours == pytest.approx(slack_sum, abs=1e-6)


def test_column_generation_matches_linprog_on_many_units():
    """With 150 units most peers enter the LP through pricing, not the initial set."""
    from scipy.optimize import linprog

    rng = np.random.default_rng(5)
    n = 150
    X = rng.lognormal(1.0, 0.5, (n, 3))
    Y = rng.uniform(0.3, 1.0, (n, 4)) * (X @ np.array([0.5, 0.3, 0.2]))[:, None]
    for rts in ("crs", "vrs"):
        ours = dea_scores(X, Y, "input", rts)
        for o in range(0, n, 5):
            A = np.vstack([np.c_[-X[o][:, None], X.T], np.c_[np.zeros((4, 1)), -Y.T]])
            b = np.r_[np.zeros(3), -Y[o]]
            eq = {} if rts == "crs" else {"A_eq": np.r_[0.0, np.ones(n)][None, :], "b_eq": [1.0]}
            r = linprog(np.r_[1.0, np.zeros(n)], A_ub=A, b_ub=b, method="highs", **eq)
            assert ours[o] == pytest.approx(r.fun, abs=1e-8), (rts, o)
