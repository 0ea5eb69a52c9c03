"""The built-in synthetic bank, with the truth it was generated from.

:func:`generate_bank` writes every table of the raw data contract and the planted truth (see
:mod:`bankanalysis.synthetic.bank`). Modules, in the order data flows through them:

- :mod:`~bankanalysis.synthetic.spec`: catalogue, behaviour parameters, random streams, calendar;
- :mod:`~bankanalysis.synthetic.population`: regions, outlets, products, customers, managers,
  devices;
- :mod:`~bankanalysis.synthetic.truth`: the planted propensity model and the truth files;
- :mod:`~bankanalysis.synthetic.simulate`: the month loop (holdings, transactions, contacts,
  acquisitions);
- :mod:`~bankanalysis.synthetic.targets`: the plan's targets from the simulated actuals;
- :mod:`~bankanalysis.synthetic.writer`: Arrow schemas derived from
  :data:`bankanalysis.contract.TABLES` and the chunk writers;
- :mod:`~bankanalysis.synthetic.bank`: :func:`generate_bank`, the entry point.
"""

from __future__ import annotations

from bankanalysis.synthetic.bank import generate_bank
from bankanalysis.synthetic.population import n_outlets_for
from bankanalysis.synthetic.spec import (
    CROSS_SELL,
    GENERATOR_VERSION,
    PERSONAS,
    PRODUCT_IDS,
    Calendar,
    make_calendar,
)
from bankanalysis.synthetic.truth import PROPENSITY_MODEL, TRUTH_FEATURES

__all__ = [
    "CROSS_SELL",
    "GENERATOR_VERSION",
    "PERSONAS",
    "PRODUCT_IDS",
    "PROPENSITY_MODEL",
    "TRUTH_FEATURES",
    "Calendar",
    "generate_bank",
    "make_calendar",
    "n_outlets_for",
]
