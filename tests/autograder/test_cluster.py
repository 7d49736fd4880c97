"""``grade AID --dask ADDRESS``: a Dask cluster (a LocalCluster of two worker processes) grades the
small class to the grades, gradebook and CSV that local workers give, the course written by one writer;
a lost worker costs its submission one retry, as a dying local worker does; each worker grades in a
process under the same memory cap as a local worker."""

from __future__ import annotations

import os
import resource
import signal
import sys
import threading
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent / "fixtures"))
from ag_support import AID, LIMITS, SMALL_CLASS, new_fixture_course, small_class  # noqa: E402

from autograder import cli  # noqa: E402
from autograder.cluster import WorkerGrader, assignment_files  # noqa: E402
from autograder.grading import GradeOptions, grade_all, read_report  # noqa: E402
from autograder.reports import export_csv  # noqa: E402
from autograder.testing import make_submission  # noqa: E402


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


def _lose_worker_mid_notebook(tries: Path):
    """A worker plugin (so workers the cluster restarts get it too): the Dask worker process grading
    ``doomed`` (every time) or ``flaky`` (the first time) is killed two seconds into the submission."""
    from distributed.diagnostics.plugin import WorkerPlugin  # noqa: PLC0415 - the dev extra

    class LoseWorker(WorkerPlugin):
        name = "convlab-lose-worker"

        def setup(self, worker):
            from autograder import cluster  # noqa: PLC0415

            real = cluster.WorkerGrader.grade

            def grade(actor, student, files, fingerprint):
                log = tries / student
                log.write_text(log.read_text() + "x" if log.exists() else "x")
                if student == "doomed" or (student == "flaky" and log.read_text() == "x"):
                    threading.Timer(2.0, os.kill, (os.getpid(), signal.SIGKILL)).start()
                return real(actor, student, files, fingerprint)

            cluster.WorkerGrader.grade = grade

    return LoseWorker()


@pytest.mark.slow
def test_a_lost_dask_worker_costs_one_retry_then_the_submission_fails_saying_why(tmp_path):
    import cloudpickle  # noqa: PLC0415
    from distributed import Client, LocalCluster  # noqa: PLC0415

    course = new_fixture_course(tmp_path / "course")
    solution = course.solutions / AID / f"{AID}.ipynb"
    for student in ("doomed", "flaky", "steady"):
        make_submission(solution, None, course.submitted / student / AID / f"{AID}.ipynb")
    tries = tmp_path / "tries"
    tries.mkdir()
    cloudpickle.register_pickle_by_value(sys.modules[__name__])  # the plugin's class travels by value
    with LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None) as cluster, \
            Client(cluster) as client:
        client.register_plugin(_lose_worker_mid_notebook(tries))
        results = {r.student: r for r in grade_all(course, AID, GradeOptions(limits=LIMITS),
                                                   dask=cluster.scheduler_address)}
    assert {s: (r.status, r.score) for s, r in results.items()} == {
        "doomed": ("failed", 0.0), "flaky": ("graded", 10.0), "steady": ("graded", 10.0)}, {
        s: r.notes for s, r in results.items()}
    assert (tries / "doomed").read_text() == "xx", "retried exactly once"
    assert (tries / "flaky").read_text() == "xx"
    why = results["doomed"].notes[0]
    assert "the Dask worker was lost or failed while grading it" in why and "2 times" in why, why
    assert read_report(course, AID, "doomed").status == "failed"
    assert read_report(course, AID, "flaky").score == 10.0


@pytest.mark.slow
def test_a_dask_worker_grades_in_a_process_under_the_grader_memory_cap(tmp_path):
    from distributed import Client, LocalCluster  # noqa: PLC0415

    course = new_fixture_course(tmp_path / "course")
    options = GradeOptions(limits=LIMITS, seed=1, grader_memory=3 * 2**30)
    with LocalCluster(n_workers=1, threads_per_worker=1, processes=True, dashboard_address=None) as cluster, \
            Client(cluster) as client:
        actor = client.submit(WorkerGrader, assignment_files(course, AID), AID, options, None, actor=True).result()
        assert actor.memory_cap().result() == 3 * 2**30
        # the worker itself is the cluster's: left as it was
        (uncapped,) = client.run(lambda: resource.getrlimit(resource.RLIMIT_AS)[0]).values()
        assert uncapped == resource.getrlimit(resource.RLIMIT_AS)[0]
        actor.close().result()
