"""The gradebook on a PostgreSQL server (nbgrader's ``db_url``) grades like the embedded SQLite one.

Starts Debian's PostgreSQL on loopback for the test (``make sysdeps`` installs the ``postgresql``
package) and stops it at the end; skipped, saying why, only where it is not installed.
"""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent / "fixtures"))
from ag_support import AID, LIMITS, SMALL_CLASS, small_class  # noqa: E402
from pg_server import postgres_bin, postgres_server  # noqa: E402

from autograder.grading import GradeOptions, grade_all  # noqa: E402
from autograder.reports import export_csv  # noqa: E402


@pytest.fixture(scope="module")
def postgres_url():
    bindir = postgres_bin()
    if bindir is None:
        pytest.skip("PostgreSQL is not installed here (Debian package `postgresql`; `make sysdeps` installs it)")
    with postgres_server(bindir) as url:
        yield url


def _cells(course):
    with course.open_gradebook() as gb:
        return {s.student.id: sorted((g.name, g.score) for n in s.notebooks for g in n.grades)
                for s in gb.assignment_submissions(AID)}


@pytest.mark.slow
def test_postgresql_gradebook_gets_the_grades_sqlite_gets(tmp_path, postgres_url):
    import psycopg  # noqa: PLC0415 - the dev extra's driver: SQLAlchemy 2.1 reads postgresql:// with it

    lite = small_class(tmp_path / "sqlite")
    pg = small_class(tmp_path / "postgres", db_url=postgres_url)
    assert pg.db_url == postgres_url and lite.db_url.startswith("sqlite:///")
    options = GradeOptions(limits=LIMITS, workers=2, seed=5)  # the same hidden cases on both gradebooks
    by_pg = {r.student: (r.status, r.score, r.cells) for r in grade_all(pg, AID, options)}
    by_lite = {r.student: (r.status, r.score, r.cells) for r in grade_all(lite, AID, options)}
    assert by_pg == by_lite
    assert {s: v[1] for s, v in by_pg.items()} == {s: total for s, (_, total) in SMALL_CLASS.items()}
    assert not pg.gradebook.exists(), "the PostgreSQL course must not write an SQLite gradebook"
    assert _cells(pg) == _cells(lite)
    with psycopg.connect(postgres_url) as conn, conn.cursor() as cur:
        cur.execute("SELECT count(*) FROM submitted_assignment")
        assert cur.fetchone()[0] == len(SMALL_CLASS)
    assert export_csv(pg, tmp_path / "pg.csv").read_bytes() == export_csv(lite, tmp_path / "lite.csv").read_bytes()
