"""Disclosure benchmark: a large region's manager scorecards through the disclosure step, the
secondary search of a large component from one programme per cell against one per candidate.

A region of a provincial bank has a few hundred account managers; their scorecards (tiers that
add up to each card's customers, contacts, products sold, new customers, AUM, leads) make one
component of hundreds of withheld cells, where trying each candidate cell (a programme of the
whole component each) took the 1M bank's largest region (199 managers) past 16 minutes.
``run()`` protects the same synthetic cards (seeded) twice, alternating: with
:data:`~bankanalysis.rules.disclosure_secondary.SEARCH_PIECE` as shipped (the programme's choice
past it) and with the candidate search everywhere (``SEARCH_PIECE`` infinite), and reports each
one's CPU seconds, the ratio, and the cells each withholds (both audited safe, or the figure
says how many cells stay unprotected); and a third time with the programme's choice built
afresh for each question instead of asked of one warm-started model of the table.

Then a larger region (:data:`BLOCK_MANAGERS_N` managers) twice, alternating: its managers' cards
as one problem (:func:`~bankanalysis.report.disclosure_cards.protect_cards`, which grows as the
square of the managers) and block by block (:func:`~bankanalysis.report.disclosure_cards.
protect_manager_cards`, as the workbooks do from
:data:`~bankanalysis.report.disclosure_cards.BLOCKS_FROM` managers), with the CPU seconds, the
ratio and the cells each withholds.
"""

from __future__ import annotations

import time
from unittest import mock

import numpy as np
import pandas as pd

from bankanalysis.report.disclosure import protection_summary
from bankanalysis.report.disclosure_cards import (
    manager_covers,
    protect_cards,
    protect_manager_cards,
)
from bankanalysis.rules import disclosure_pieces as dp
from bankanalysis.rules import disclosure_secondary as ds
from bankanalysis.rules.disclosure_choice import programme_choice

SEED = 20261202
#: Managers of the region protected whole and by blocks (a 1M bank's largest region has 219,
#: a 10M bank's 2,013; the whole table's seconds grow as their square).
BLOCK_MANAGERS_N = 320


def make_cards(n: int, seed: int = SEED) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """``n`` managers' scorecards (tier counts, many small; activity counts; AUM) at ``n // 8``
    outlets, the outlets' cards (their managers' and customers without a manager) and the
    book (manager, outlet)."""
    rng = np.random.default_rng(seed)
    ids = pd.Index([f"M{i:04d}" for i in range(n)], name="manager_id")
    outlets = [f"O{i:03d}" for i in range(max(1, n // 8))]
    home = pd.Series(rng.choice(outlets, n), index=ids)

    def draw(size: int) -> pd.DataFrame:
        out = pd.DataFrame(
            {
                "customers_mass": rng.poisson(45, size),
                "customers_quality": rng.poisson(11, size),
                "customers_vip": rng.poisson(4, size),
                "customers_private_banking": rng.poisson(0.6, size),
            }
        )
        out.insert(0, "customers", out.sum(axis=1))
        out["contacts"] = rng.poisson(30, size)
        out["sales_total"] = rng.poisson(9, size)
        out["new_customers"] = rng.poisson(6, size)
        out["aum"] = rng.lognormal(16, 0.8, size).round(0)
        return out

    cards = draw(n).set_axis(ids)
    rest = draw(len(outlets)).set_axis(pd.Index(outlets, name="outlet_id"))  # no manager
    outlet_cards = cards.groupby(home).sum().reindex(outlets, fill_value=0) + rest
    outlet_cards.index.name = "outlet_id"
    book = pd.DataFrame(
        {"manager_id": [*ids, *[None] * len(outlets)], "outlet_id": [*home, *outlets]}
    )
    return cards, outlet_cards, book


def _fresh_choice(self: dp.PieceIntervals, status: dict[str, str], target: str) -> list[str] | None:
    """The programme's choice built afresh for each question (no warm model)."""
    return programme_choice(self.table, status, target, self.k, self.level)


def _protect(
    bank: tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame], piece: int, warm: bool = True
) -> tuple[float, dict[str, int], int]:
    """The outlets' cards, then the managers' against them (as the region's scorecards are
    written): CPU seconds, the managers' cells withheld, and how many stay unprotected.
    ``warm=False``: the programme's choice built afresh for each question."""
    cards, outlet_cards, book = bank
    # the variants are internal settings of the solver, swapped for the measurement only
    choice = dp.PieceIntervals.choice if warm else _fresh_choice
    with (
        mock.patch.object(ds, "SEARCH_PIECE", piece),
        mock.patch.object(dp.PieceIntervals, "choice", choice),
    ):
        c = time.process_time()
        shown_o = protect_cards(outlet_cards, 10, published=("customers",))
        covers = manager_covers(outlet_cards, shown_o, book)
        prot = protect_cards(cards, 10, covers=covers).attrs["protection"]
        cpu = time.process_time() - c
    return cpu, prot.counts(), int((~prot.audit["safe"]).sum()) if len(prot.audit) else 0


def _whole_and_blocks(n: int) -> dict[str, float]:
    """``n`` managers' cards as one problem and block by block: CPU seconds, cells withheld
    (secondary and fail-safe) and whether the audit found every cell safe (1.0)."""
    cards, outlet_cards, book = make_cards(n)
    shown_o = protect_cards(outlet_cards, 10, published=("customers",))
    covers = manager_covers(outlet_cards, shown_o, book)
    out: dict[str, float] = {}
    for name, protect in (
        ("whole", lambda: protect_cards(cards, 10, covers=covers)),
        ("blocks", lambda: protect_manager_cards(cards, 10, covers=covers, book=book)),
    ):
        c = time.process_time()
        shown = protect()
        out[f"disclosure_cards_{name}_cpu_s"] = time.process_time() - c
        s = protection_summary(shown)
        out[f"disclosure_cards_{name}_withheld"] = s[ds.SECONDARY] + s[ds.FAILSAFE]
        out[f"disclosure_cards_{name}_safe"] = float(s["safe"])
    out["disclosure_cards_whole_over_blocks"] = (
        out["disclosure_cards_whole_cpu_s"] / out["disclosure_cards_blocks_cpu_s"]
    )
    print(
        f"{n} managers' scorecards: one problem {out['disclosure_cards_whole_cpu_s']:.1f} s CPU "
        f"({out['disclosure_cards_whole_withheld']:.0f} cells withheld), by blocks "
        f"{out['disclosure_cards_blocks_cpu_s']:.1f} s CPU "
        f"({out['disclosure_cards_blocks_withheld']:.0f}) -> "
        f"{out['disclosure_cards_whole_over_blocks']:.1f}x"
    )
    return out


def run(quick: bool = False) -> dict[str, float]:
    """Run the benchmark and return its figures.

    Parameters
    ----------
    quick : bool
        Smoke variant: 40 managers instead of 64, and 240 instead of
        :data:`BLOCK_MANAGERS_N` (same figure names).

    Returns
    -------
    dict
        ``disclosure_cards_cpu_s`` (the programme's choice), ``disclosure_cards_search_cpu_s``
        (a programme per candidate), ``disclosure_cards_search_over_programme`` (their ratio),
        ``disclosure_cards_withheld`` and ``disclosure_cards_search_withheld`` (secondary and
        fail-safe cells), ``disclosure_cards_fresh_programme_cpu_s``,
        ``disclosure_cards_fresh_over_warm`` and ``disclosure_cards_fresh_programme_withheld``
        (the programme built afresh for each question instead of the warm model's), and
        ``disclosure_cards_unsafe`` (cells left unprotected, all three ways); the larger
        region's ``disclosure_cards_{whole,blocks}_{cpu_s,withheld,safe}`` and
        ``disclosure_cards_whole_over_blocks``.
    """
    n = 40 if quick else 64
    cards = make_cards(n)
    _protect(make_cards(16), ds.SEARCH_PIECE)  # imports and the solver outside the timing
    new = _protect(cards, ds.SEARCH_PIECE)
    fresh = _protect(cards, ds.SEARCH_PIECE, warm=False)
    old = _protect(cards, 10**9)

    def withheld(counts: dict[str, int]) -> int:
        return counts.get(ds.SECONDARY, 0) + counts.get(ds.FAILSAFE, 0)

    print(
        f"{n} managers' scorecards: programme's choice {new[0]:.1f} s CPU ({new[1]}), "
        f"candidate search {old[0]:.1f} s CPU ({old[1]}) -> {old[0] / new[0]:.1f}x; "
        f"the programme built afresh for each question {fresh[0]:.1f} s CPU ({fresh[1]}) "
        f"-> {fresh[0] / new[0]:.1f}x"
    )
    return {
        "disclosure_cards_cpu_s": new[0],
        "disclosure_cards_search_cpu_s": old[0],
        "disclosure_cards_search_over_programme": old[0] / new[0],
        "disclosure_cards_withheld": withheld(new[1]),
        "disclosure_cards_search_withheld": withheld(old[1]),
        "disclosure_cards_fresh_programme_cpu_s": fresh[0],
        "disclosure_cards_fresh_over_warm": fresh[0] / new[0],
        "disclosure_cards_fresh_programme_withheld": withheld(fresh[1]),
        "disclosure_cards_unsafe": new[2] + old[2] + fresh[2],
        **_whole_and_blocks(240 if quick else BLOCK_MANAGERS_N),
    }


if __name__ == "__main__":
    print(run())
