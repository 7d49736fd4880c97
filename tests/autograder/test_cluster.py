"""``grade AID --dask ADDRESS``: a Dask cluster (a LocalCluster of two worker processes) grades the
small class to the grades, gradebook and CSV that local workers give, the course written by one writer."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent / "fixtures"))
from ag_support import AID, LIMITS, SMALL_CLASS, small_class  # noqa: E402

from autograder import cli  # noqa: E402
from autograder.grading import GradeOptions, grade_all, read_report  # noqa: E402
from autograder.reports import export_csv  # noqa: E402


def _gradebook_rows(course) -> list:
    with course.open_gradebook() as gb:
        return sorted((s.student.id, str(s.timestamp), [(n.name, n.late_submission_penalty) for n in s.notebooks],
                       sorted((g.name, g.auto_score, g.needs_manual_grade) for n in s.notebooks for g in n.grades),
                       sorted((c.name, c.auto_comment) for n in s.notebooks for c in n.comments))
                      for s in gb.assignment_submissions(AID))


@pytest.mark.slow
def test_dask_cluster_grades_like_local_workers(tmp_path, capsys):
    from distributed import LocalCluster  # noqa: PLC0415 - the dev extra

    local = small_class(tmp_path / "local")
    on_dask = small_class(tmp_path / "dask")
    by_local = {r.student: (r.status, r.score, r.cells) for r in grade_all(local, AID, GradeOptions(limits=LIMITS))}
    with LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None) as cluster:
        code = cli.main(["--course", str(on_dask.root), "grade", AID, "--dask", cluster.scheduler_address,
                         "--cell-timeout", str(LIMITS.cell_timeout), "--notebook-timeout", str(LIMITS.notebook_timeout)])
    out = capsys.readouterr().out
    assert code == 0, out
    assert f"graded now                 {len(SMALL_CLASS)}" in out, out
    by_dask = {s: (r.status, r.score, r.cells) for s in SMALL_CLASS if (r := read_report(on_dask, AID, s))}
    assert by_dask == by_local
    assert {s: v[1] for s, v in by_dask.items()} == {s: total for s, (_, total) in SMALL_CLASS.items()}
    assert _gradebook_rows(on_dask) == _gradebook_rows(local)
    assert export_csv(on_dask, tmp_path / "d.csv").read_bytes() == export_csv(local, tmp_path / "l.csv").read_bytes()
    autograded = sorted(p.relative_to(on_dask.autograded) for p in on_dask.autograded.rglob("*.ipynb"))
    assert autograded == sorted(p.relative_to(local.autograded) for p in local.autograded.rglob("*.ipynb"))
