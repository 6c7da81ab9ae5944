"""Training diagnostics: health rules over the logged numbers, an in-training monitor, the
offline ``doctor`` report and the recipe ``recommend``-er.

Entry points (imported lazily, so ``import gankit.diagnostics`` is cheap):

* :class:`Monitor` -- trainer hook: warns once per rule, logs ``diversity_ratio`` / ``class_kl`` (and
  ``class_consistency`` for class-conditional runs);
* :func:`diagnose`, :func:`write_report`, :func:`summary_text` -- ``gankit doctor RUN_DIR``;
* :func:`recommend`, :func:`format_recommendation` -- ``gankit recommend --task ...``;
* :class:`RuleEngine`, :class:`Finding`, :class:`RuleContext` -- the rules themselves.

Modules: ``thresholds`` (the numbers), ``context`` (the recipe as the rules see it), ``records``
(History, Finding), ``checks`` (the rules), ``remedies``, ``engine``; ``report`` / ``plots`` /
``html_report`` behind ``doctor``; ``monitor``; ``recommend``.
"""

from __future__ import annotations

import importlib
from typing import Any

_EXPORTS = {
    "Monitor": "gankit.diagnostics.monitor",
    "MonitorSettings": "gankit.diagnostics.monitor",
    "diagnose": "gankit.diagnostics.report",
    "write_report": "gankit.diagnostics.doctor",
    "summary_text": "gankit.diagnostics.report",
    "DoctorReport": "gankit.diagnostics.report",
    "recommend": "gankit.diagnostics.recommend",
    "format_recommendation": "gankit.diagnostics.recommend",
    "Recommendation": "gankit.diagnostics.recommend",
    "TASKS": "gankit.diagnostics.recommend",
    "RuleEngine": "gankit.diagnostics.engine",
    "RuleContext": "gankit.diagnostics.context",
    "Finding": "gankit.diagnostics.records",
    "RULES": "gankit.diagnostics.thresholds",
    "evaluate_records": "gankit.diagnostics.engine",
}

__all__ = [
    "RULES",
    "TASKS",
    "DoctorReport",
    "Finding",
    "Monitor",
    "MonitorSettings",
    "Recommendation",
    "RuleContext",
    "RuleEngine",
    "diagnose",
    "evaluate_records",
    "format_recommendation",
    "recommend",
    "summary_text",
    "write_report",
]


def __getattr__(name: str) -> Any:
    if name in _EXPORTS:
        return getattr(importlib.import_module(_EXPORTS[name]), name)
    raise AttributeError(f"module 'gankit.diagnostics' has no attribute {name!r}")
