"""data_support: what a prepared bank can support, on hand-made frames."""

from __future__ import annotations

import json

import pandas as pd

from bankanalysis.data.support import OPTIONAL_TABLES, data_support

MONTHS = ["2024-01", "2024-02"]


def _regions() -> pd.DataFrame:
    return pd.DataFrame({"region_id": ["R2", "R1", "R3"], "echelon": [2, 2, 3]})


def _outlet_month() -> pd.DataFrame:
    rows = [
        # month, outlet, region, echelon, type: O4 opens in February
        ("2024-01", "O1", "R1", 2, "flagship"),
        ("2024-01", "O2", "R1", 2, "standard"),
        ("2024-01", "O3", "R2", 2, "standard"),
        ("2024-02", "O1", "R1", 2, "flagship"),
        ("2024-02", "O2", "R1", 2, "standard"),
        ("2024-02", "O3", "R2", 2, "standard"),
        ("2024-02", "O4", "R2", 2, "standard"),
    ]
    return pd.DataFrame(rows, columns=["month", "outlet_id", "region_id", "echelon", "outlet_type"])


def _product_counts() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "month": ["2024-01", "2024-01", "2024-02", "2024-02"],
            "product": ["deposit", "gold", "deposit", "gold"],
            "holders": [10, 0, 12, 0],
            "buyers": pd.array([pd.NA, pd.NA, 2, 0], dtype="Int64"),
        }
    )


def _support(**kw: object) -> dict:
    args = {
        "tables_present": ["regions", "outlets", "products", "customers", "holdings", "targets"],
        "months": MONTHS,
        "regions": _regions(),
        "outlet_month": _outlet_month(),
        "product_counts": _product_counts(),
        "aum_range": (0.0, 2500.5),
        **kw,
    }
    return data_support(**args)


def test_tables_and_months() -> None:
    s = _support()
    assert s["tables"] == {t: t == "targets" for t in OPTIONAL_TABLES}
    assert set(OPTIONAL_TABLES) == {
        "transactions",
        "managers",
        "contacts",
        "devices",
        "device_months",
        "targets",
    }
    assert s["months"] == {"first": "2024-01", "last": "2024-02", "n": 2}


def test_products_holders_buyers_and_never_held() -> None:
    s = _support()
    assert s["products"]["deposit"] == {
        "holders": {"2024-01": 10, "2024-02": 12},
        "buyers": {"2024-01": None, "2024-02": 2},
    }
    assert s["products"]["gold"]["holders"] == {"2024-01": 0, "2024-02": 0}
    assert s["products_never_held"] == ["gold"]


def test_peer_groups_regions_and_echelons_at_the_data_month() -> None:
    s = _support()
    assert s["outlets_per_peer_group"] == [
        {"echelon": 2, "outlet_type": "flagship", "outlets": 1},
        {"echelon": 2, "outlet_type": "standard", "outlets": 3},  # O4 opened in February
    ]
    # R3 has no open outlet: listed with 0, not left out
    assert s["outlets_per_region"] == {"R1": 2, "R2": 2, "R3": 0}
    assert s["regions_per_echelon"] == {"1": 0, "2": 2, "3": 1}


def test_balances_vary_or_not() -> None:
    assert _support()["balances"] == {"aum_min": 0.0, "aum_max": 2500.5, "vary": True}
    assert _support(aum_range=(0.0, 0.0))["balances"]["vary"] is False
    assert _support(aum_range=(7.0, 7.0))["balances"]["vary"] is False
    assert _support(aum_range=None)["balances"] == {
        "aum_min": None,
        "aum_max": None,
        "vary": False,
    }


def test_empty_bank_is_json_ready() -> None:
    s = _support(
        months=[],
        outlet_month=_outlet_month().iloc[0:0],
        product_counts=_product_counts().iloc[0:0],
        aum_range=None,
    )
    assert s["months"] == {"first": None, "last": None, "n": 0}
    assert s["outlets_per_peer_group"] == [] and s["products"] == {}
    assert s["outlets_per_region"] == {"R1": 0, "R2": 0, "R3": 0}
    assert json.loads(json.dumps(s)) == s


# --------------------------------------------------------------------------- support_check


def _have(absent: tuple[str, ...] = (), n: int = 13) -> dict:
    from bankanalysis.rules.months import shift_month

    return {
        "tables": {t: t not in absent for t in OPTIONAL_TABLES},
        "months": {"first": "2024-01", "last": shift_month("2024-01", n - 1), "n": n},
        "products": {
            "wealth_card": {"holders": {"2024-01": 0}, "buyers": {"2024-01": None}},
            "gold": {"holders": {"2024-01": 4}, "buyers": {"2024-01": None, "2024-02": 0}},
            "fund": {"holders": {"2024-01": 4}, "buyers": {"2024-02": 3}},
        },
        "products_never_held": ["wealth_card"],
    }


def test_months_needed_by_the_windows() -> None:
    from bankanalysis.data.support_check import months_needed

    # horizon 2, 2 evaluation months: train t, label t+2 = first evaluation month, second
    # evaluation month, its label 2 months later -> 1 + 2 + 1 + 2 = 6 month-ends
    assert months_needed(horizon=2, eval_months=2, train_windows=4) == {
        "propensity_any": 6,
        "propensity_full": 9,
    }
    assert months_needed(migration_months=3) == {"migration": 4}


def test_kpis_needing_a_table_come_from_the_dictionary() -> None:
    from bankanalysis.data.support_check import kpis_needing, missing_needs
    from bankanalysis.rules.kpis import KPIS

    assert kpis_needing("targets") == [k for k, e in KPIS.items() if "targets" in e.needs]
    assert "target_attainment" in kpis_needing("targets")
    assert missing_needs("device_operating_rate", {"device_months"}) == ["device_months"]
    assert missing_needs("not_a_kpi", {"transactions"}) == []


def test_product_roles_and_targets_nobody_holds_or_buys_fall_back() -> None:
    from bankanalysis.data.support_check import check_params_support

    found = check_params_support(
        {"wealth_card_product": "wealth_card", "products": ["gold", "fund", "unknown"]}, _have()
    )
    assert [(f.parameter, f.fatal) for f in found] == [
        ("wealth_card_product", False),
        ("products", False),
    ]
    assert "set wealth_card_product: null if this bank has no such product" in found[0].message
    assert "nobody buys product 'gold'" in found[1].message


def test_windows_fall_back_only_when_the_data_are_short() -> None:
    from bankanalysis.data.support_check import check_params_support

    p = {"migration_months": 12, "horizon": 3, "eval_months": 1, "train_windows": 12}
    assert check_params_support(p, _have(n=18)) == []  # 12 + 2 * 3 + 1 - 1 = 18
    (f,) = check_params_support(p, _have(n=17))
    assert (
        f.parameter == "train_windows" and "train on 11 monthly windows instead of 12" in f.message
    )
    one = check_params_support({"migration_months": 12}, _have(n=1))
    assert one[0].message == (
        "the data hold one month (2024-01): the tier migration cannot be computed and the "
        "report says why"
    )
    # an earlier data month shortens what the windows have
    m, g = check_params_support({**p, "data_month": "2024-12"}, _have(n=18))
    assert m.parameter == "migration_months" and "11 months earlier instead of 12" in m.message
    assert g.parameter == "train_windows" and "the data hold 12 months up to 2024-12" in g.message


def test_self_service_target_without_devices_is_a_stated_fallback() -> None:
    from bankanalysis.data.support_check import check_params_support

    (f,) = check_params_support({"self_service_target": 3.0}, _have(("devices",)))
    assert (f.parameter, f.fatal) == ("self_service_target", False)
    assert "self_service_per_outlet" in f.message and "the devices table" in f.message
    assert check_params_support({"self_service_target": 3.0}, None) == []


def test_groups_of_one_outlet_are_compared_with_the_bank() -> None:
    """From the support record of the hand-made frames above: echelon 2 / flagship holds O1 alone."""
    from bankanalysis.data.support_check import check_params_support

    support = _support()
    (peer,) = check_params_support(
        {"peer_by": ["echelon", "outlet_type"], "dea_frontier_by": "region_id"}, support
    )
    assert (peer.parameter, peer.fatal) == ("peer_by", False)
    assert peer.message == (
        "1 group of one outlet at the data month (echelon 2 / flagship): its outlet is compared "
        "with the bank's outlets instead of their peers, as the report says"
    )
    # R1 holds O1 and O2, R2 O3 and O4: no region frontier of one outlet; without O4, R2 is one
    om = _outlet_month()
    alone = _support(outlet_month=om[om["outlet_id"] != "O4"])
    (dea,) = check_params_support({"dea_frontier_by": "region_id"}, alone)
    assert dea.message.startswith("1 group of one outlet at the data month (region R2): its ")
    assert "measured on the bank-wide DEA frontier" in dea.message
    assert check_params_support({"dea_frontier_by": "echelon"}, support) == []  # 4 in echelon 2
    # a grouping the support record does not hold is not guessed
    assert check_params_support({"peer_by": ["echelon", "region_id"]}, support) == []
