"""bankanalysis: customer, cross-sell and outlet analytics for a retail bank.

The public API is small; the modules hold the rest. Nothing happens on import.
"""

from bankanalysis.exceptions import (
    BankAnalysisError,
    BatchError,
    DataContractError,
    ModelError,
    ParameterError,
    ProcessedDataError,
)

__version__ = "0.1.0"

__all__ = [
    "BankAnalysisError",
    "BatchError",
    "DataContractError",
    "ModelError",
    "ParameterError",
    "ProcessedDataError",
    "__version__",
]
