"""Default values of the propensity settings, taken from the parameter schema (the one source).

:class:`~bankanalysis.propensity.training.TrainingSettings` and
:class:`~bankanalysis.propensity.models.TierPopularityBaseline` read their defaults here instead
of keeping copies of ``params/defaults.yaml``.
"""

from __future__ import annotations

from typing import Any

__all__ = ["default_tier_thresholds", "schema_default"]


def schema_default(name: str) -> Any:
    """Default of a parameter of notebook 02 in the schema (:mod:`bankanalysis.params`).

    Examples
    --------
    >>> schema_default("horizon")
    3
    """
    from bankanalysis.params import PropensityParams

    return PropensityParams.model_fields[name].get_default(call_default_factory=True)


def default_tier_thresholds() -> tuple[float, ...]:
    """The schema's tier thresholds as a tuple of floats.

    Examples
    --------
    >>> default_tier_thresholds()
    (50000.0, 500000.0, 6000000.0)
    """
    return tuple(float(x) for x in schema_default("tier_thresholds"))
