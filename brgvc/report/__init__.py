"""Reports derived from a finished run's result store: the findings, network files, HTML.

* :func:`findings` / :func:`findings_text` / :func:`write_findings` — the four findings of
  METHODS.md §0 with bootstrap intervals and probabilities (``brgvc findings RESULTS``);
* :func:`write_report` — a self-contained HTML page (``brgvc report RESULTS``).
"""

from brgvc.report.findings import FindingsError, findings, findings_text, write_findings
from brgvc.report.html import write_report

__all__ = ["FindingsError", "findings", "findings_text", "write_findings", "write_report"]
