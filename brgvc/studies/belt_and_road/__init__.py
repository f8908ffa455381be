"""The Belt and Road study: the four findings of Zheng et al. (2019) from a result store.

* :func:`findings` / :func:`findings_text` / :func:`write_findings` — the findings with bootstrap
  intervals and probabilities (``brgvc findings RESULTS``);
* :func:`write_report` — a self-contained HTML page (``brgvc report RESULTS``).
"""

from brgvc.studies.belt_and_road.findings import (
    FindingsError,
    findings,
    findings_text,
    write_findings,
)
from brgvc.studies.belt_and_road.html import write_report

__all__ = ["FindingsError", "findings", "findings_text", "write_findings", "write_report"]
