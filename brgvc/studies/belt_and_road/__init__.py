"""The Belt and Road study: the four findings of Zheng et al. (2019) from a result store.

* :func:`findings` / :func:`findings_text` / :func:`write_findings` — the findings with bootstrap
  intervals and probabilities (``brgvc findings RESULTS``);
* :func:`write_report` — a self-contained HTML page (``brgvc report RESULTS``);
* :func:`run_study` — the main job, its gross-output variant and the findings (what ``brgvc
  run`` calls for a job with findings). Claims, variants and the decision rule:
  ``docs/findings.md``.
"""

from brgvc.studies.belt_and_road.findings import (
    FindingsError,
    findings,
    findings_text,
    write_findings,
)
from brgvc.studies.belt_and_road.html import write_report
from brgvc.studies.belt_and_road.study import StudyResult, run_study, study_job, variant_job

__all__ = ["FindingsError", "StudyResult", "findings", "findings_text", "run_study",
           "study_job", "variant_job", "write_findings", "write_report"]
