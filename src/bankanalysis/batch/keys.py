"""Job keys: equal keys mean equal inputs, so a job's outputs can be reused.

A key hashes the notebook's cells (not outputs or execution counts), the merged parameters
(paths, run id and timeout left out), the source of the whole ``bankanalysis`` package
(:func:`bankanalysis.provenance.package_source_hash`), the processed-data fingerprint and, for
notebooks using cached propensity models, the model cache key.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

__all__ = [
    "KEYLESS_PARAMS",
    "job_key",
    "memo_model_cache_extra",
    "model_cache_extra",
    "notebook_content_hash",
]

#: Parameters that differ between runs without changing results (left out of job keys).
KEYLESS_PARAMS = ("output_dir", "run_id", "processed_dir", "timeout_minutes")


def notebook_content_hash(notebook_path: str | Path) -> str:
    """Return a sha256 of a notebook's cells, ignoring outputs and execution counts.

    Running a notebook in JupyterLab (which fills outputs and counts) or re-saving it does not
    change the hash; editing a cell's source, type or metadata (e.g. the ``parameters`` tag)
    does. A file that is not notebook JSON is hashed byte for byte.
    """
    raw = Path(notebook_path).read_bytes()
    try:
        nb = json.loads(raw)
        cells = [
            {
                "cell_type": c.get("cell_type"),
                "source": "".join(c.get("source", ""))
                if isinstance(c.get("source"), list)
                else c.get("source", ""),
                "metadata": c.get("metadata", {}),
            }
            for c in nb["cells"]
        ]
        text = json.dumps(
            {"cells": cells, "kernelspec": nb.get("metadata", {}).get("kernelspec")},
            sort_keys=True,
            ensure_ascii=True,
        )
    except (ValueError, KeyError, TypeError, AttributeError):
        return hashlib.sha256(raw).hexdigest()
    return hashlib.sha256(text.encode()).hexdigest()


def model_cache_extra(params: Mapping[str, Any], data_fingerprint: str) -> dict[str, str]:
    """Return ``{"model_cache": key}`` for a job that uses cached propensity models, else ``{}``.

    The key is the propensity package's own :func:`bankanalysis.propensity.cache.cache_key`
    over the fingerprint and the training settings derived from ``params``.
    """
    if not params.get("use_model_cache"):
        return {}
    from bankanalysis.propensity.cache import cache_key
    from bankanalysis.propensity.training import TrainingSettings

    settings = TrainingSettings.from_params(dict(params))
    return {"model_cache": cache_key(data_fingerprint, settings.cache_params())}


def job_key(
    notebook_path: str | Path,
    params: Mapping[str, Any],
    package_hash: str,
    data_fingerprint: str,
    extra: Mapping[str, str] | None = None,
) -> str:
    """Return the key of a job: equal keys mean equal inputs, so outputs can be reused.

    Parameters
    ----------
    notebook_path : str or Path
        Source notebook (its cells enter the key, outputs and execution counts do not:
        :func:`notebook_content_hash`).
    params : dict
        Merged parameters; paths, run id and timeout are left out (they do not change results).
    package_hash : str
        :func:`bankanalysis.provenance.package_source_hash`.
    data_fingerprint : str
        Processed-data fingerprint (``_manifest.json``).
    extra : dict, optional
        Further inputs, e.g. a model cache key.

    Returns
    -------
    str
        Hex sha256.
    """
    payload = {
        "notebook": notebook_content_hash(notebook_path),
        "params": {k: v for k, v in params.items() if k not in KEYLESS_PARAMS},
        "package": package_hash,
        "data": data_fingerprint,
        "extra": dict(extra or {}),
    }
    text = json.dumps(payload, sort_keys=True, default=str, ensure_ascii=True)
    return hashlib.sha256(text.encode()).hexdigest()


def memo_model_cache_extra(
    params: Mapping[str, Any], fingerprint: str, memo: dict[str, Any]
) -> dict[str, str]:
    """:func:`model_cache_extra`, memoised on (package source, fingerprint, parameters).

    ``memo`` holds ``"package"`` (the package source hash), ``"known"`` (memo key -> model
    cache key, e.g. remembered in the reports folder) and ``"new"`` (entries computed by this
    call, to remember); a known entry spares importing the modelling stack.
    """
    if not params.get("use_model_cache"):
        return {}
    relevant = {k: v for k, v in params.items() if k not in KEYLESS_PARAMS}
    text = json.dumps([memo["package"], fingerprint, relevant], sort_keys=True, default=str)
    mkey = hashlib.sha256(text.encode()).hexdigest()
    if mkey in memo["known"]:
        return {"model_cache": memo["known"][mkey]}
    extra = model_cache_extra(params, fingerprint)
    memo["known"][mkey] = memo["new"][mkey] = extra["model_cache"]
    return extra
