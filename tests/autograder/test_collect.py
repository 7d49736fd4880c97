"""``collect``: the accepted layouts, and hostile or broken input (issue 8, item 9).

Every hostile archive is built here, in the test: corrupt members, zip bombs, lying headers,
overlapping members, ``../`` and absolute names, symlinks and FIFOs in a folder source.
"""

import json
import os
import struct
import subprocess
import sys
import zipfile
from pathlib import Path

import nbformat
import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent / "fixtures"))
from ag_support import AID, new_fixture_course  # noqa: E402

from autograder import cli  # noqa: E402
from autograder import collect as collect_module  # noqa: E402
from autograder.collect import NOT_A_NOTEBOOK, CollectError, CollectLimits, collect, report_lines  # noqa: E402
from autograder.course import Course  # noqa: E402
from autograder.grading import submitted_students  # noqa: E402

NB = f"{AID}.ipynb"
MiB = 2**20
UNSAFE = "unsafe path in the archive (absolute or with ..): not used"
BOMB = "expands more than 200 times its compressed size (zip bomb?)"


def _notebook_bytes(text: str) -> bytes:
    """A one-cell notebook holding ``text`` (same text, same bytes)."""
    nb = nbformat.v4.new_notebook()
    nb.cells.append(nbformat.v4.new_code_cell(text, id="only-cell"))
    return nbformat.writes(nb).encode()


def _tree(folder: Path) -> dict:
    """``relative path -> bytes`` of every file below ``folder`` (symlinks not followed)."""
    return {str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*"))
            if p.is_file() and not p.is_symlink()}


def _all_paths(folder: Path) -> list[str]:
    """Every path below ``folder``, files and folders, as relative strings."""
    return sorted(str(p.relative_to(folder)) for p in folder.rglob("*"))


def _zip(path: Path, members: dict, compression=zipfile.ZIP_DEFLATED) -> Path:
    """A zip at ``path`` holding ``name -> bytes`` (members as written, hostile names included)."""
    with zipfile.ZipFile(path, "w", compression) as zf:
        for name, data in members.items():
            zf.writestr(name, data)
    return path


def _patch_central(archive: Path, member: str, offset: int, fmt: str, value: int) -> None:
    """Overwrite one field of ``member``'s central directory record (what zipfile trusts) in place.

    offset/fmt: the field inside the 46-byte record (8 ``<H`` flags, 24 ``<L`` uncompressed size).
    """
    raw = bytearray(archive.read_bytes())
    with zipfile.ZipFile(archive) as zf:
        pos = zf.start_dir
    while True:
        assert raw[pos:pos + 4] == b"PK\x01\x02", "walked off the central directory"
        n, m, k = struct.unpack_from("<3H", raw, pos + 28)
        if raw[pos + 46:pos + 46 + n].decode() == member:
            struct.pack_into(fmt, raw, pos + offset, value)
            archive.write_bytes(bytes(raw))
            return
        pos += 46 + n + m + k


@pytest.fixture
def bare_course(tmp_path) -> Course:
    """The fixture course, not released (collect needs only solutions/)."""
    return new_fixture_course(tmp_path / "course", released=False)


# --- the accepted layouts ----------------------------------------------------------------------
def test_collect_folder_layout_and_recollect_replaces(bare_course, tmp_path):
    src = tmp_path / "inbox"
    for student, files in {"alice": {NB: "v1", "draft.ipynb": "draft"}, "bob": {NB: "bob's"}}.items():
        (src / student / AID).mkdir(parents=True)
        for name, text in files.items():
            (src / student / AID / name).write_bytes(_notebook_bytes(text))
    (src / "alice" / AID / ".ipynb_checkpoints").mkdir()
    (src / "alice" / AID / ".ipynb_checkpoints" / NB).write_bytes(_notebook_bytes("checkpoint"))
    (src / "alice" / AID / "notes.txt").write_text("not a notebook: ignored")

    report = collect(bare_course, src)
    assert report.placed == [("alice", AID), ("bob", AID)]
    assert report.skipped == [(f"alice/{AID}/notes.txt", NOT_A_NOTEBOOK)]
    assert (report.ignored, report.missed, report.complete, report.notebooks) == (1, 0, True, 3)
    alice = bare_course.submitted / "alice" / AID
    assert sorted(p.name for p in alice.iterdir()) == ["draft.ipynb", NB, "timestamp.txt"]
    assert (alice / NB).read_bytes() == _notebook_bytes("v1")
    assert "UTC" in (alice / "timestamp.txt").read_text()

    again = tmp_path / "inbox2"
    (again / "alice" / AID).mkdir(parents=True)
    (again / "alice" / AID / NB).write_bytes(_notebook_bytes("v2"))
    assert collect(bare_course, again).placed == [("alice", AID)]
    assert sorted(p.name for p in alice.iterdir()) == [NB, "timestamp.txt"], "the old folder is replaced"
    assert (alice / NB).read_bytes() == _notebook_bytes("v2")
    assert (bare_course.submitted / "bob" / AID / NB).read_bytes() == _notebook_bytes("bob's"), "others untouched"
    assert _all_paths(bare_course.submitted) == ["alice", f"alice/{AID}", f"alice/{AID}/{NB}",
                                                  f"alice/{AID}/timestamp.txt", "bob", f"bob/{AID}",
                                                  f"bob/{AID}/{NB}", f"bob/{AID}/timestamp.txt"], "no leftovers"


def test_collect_flat_lms_zip(bare_course, tmp_path):
    archive = tmp_path / "export.zip"
    with zipfile.ZipFile(archive, "w") as zf:
        zf.writestr(f"carol_12345_attempt_{NB}", _notebook_bytes("carol"))
        zf.writestr(f"dave_9_late_{NB}", _notebook_bytes("dave"))
        zf.writestr(f"../../evil_{NB}", _notebook_bytes("escape"))
        zf.writestr(f"__MACOSX/._carol_{NB}", b"resource fork")
        zf.writestr("readme.txt", "not a notebook")
    report = collect(bare_course, archive)
    assert report.placed == [("carol", AID), ("dave", AID)]
    assert report.skipped == [(f"../../evil_{NB}", UNSAFE), ("readme.txt", NOT_A_NOTEBOOK)]
    assert (report.ignored, report.missed, report.entries) == (1, 1, 5)
    assert (bare_course.submitted / "carol" / AID / NB).read_bytes() == _notebook_bytes("carol")
    assert (bare_course.submitted / "dave" / AID / NB).read_bytes() == _notebook_bytes("dave")
    assert sorted(p.name for p in bare_course.submitted.iterdir()) == ["carol", "dave"]
    assert not list(tmp_path.rglob(f"evil_{NB}")), "a zip entry never escapes with ../"

    with zipfile.ZipFile(archive, "w") as zf:  # the LMS export of a later re-submission
        zf.writestr(f"carol_12345_attempt2_{NB}", _notebook_bytes("carol again"))
    assert collect(bare_course, archive).placed == [("carol", AID)]
    assert (bare_course.submitted / "carol" / AID / NB).read_bytes() == _notebook_bytes("carol again")


def test_collect_says_when_nothing_is_found(bare_course, tmp_path, capsys):
    (tmp_path / "empty").mkdir()
    with pytest.raises(CollectError, match="no submissions found"):
        collect(bare_course, tmp_path / "empty")
    assert cli.main(["--course", str(bare_course.root), "collect", str(tmp_path / "nowhere")]) == 2
    assert "neither a folder nor a zip" in capsys.readouterr().err

    archive = _zip(tmp_path / "broken.zip", {f"alice/{AID}/{NB}": _notebook_bytes("alice")})
    raw = archive.read_bytes()
    archive.write_bytes(raw.replace(b"PK\x01\x02", b"XX\x01\x02"))  # the central directory unreadable
    with pytest.raises(CollectError, match="broken.zip is not a readable zip file: Bad magic number for central"):
        collect(bare_course, archive)
    assert not bare_course.submitted.exists() or _all_paths(bare_course.submitted) == []


def test_two_entries_for_one_notebook_report_the_replaced_one(bare_course, tmp_path):
    archive = _zip(tmp_path / "x.zip", {f"carol_1_first_{NB}": _notebook_bytes("first"),
                                        f"carol_2_second_{NB}": _notebook_bytes("second")})
    report = collect(bare_course, archive)
    assert report.placed == [("carol", AID)]
    assert report.skipped == [(f"carol_1_first_{NB}", f"replaced by carol_2_second_{NB}: same student, "
                                                      "assignment and notebook name")]
    assert (bare_course.submitted / "carol" / AID / NB).read_bytes() == _notebook_bytes("second")


# --- broken and hostile zips -------------------------------------------------------------------
def test_corrupt_members_are_reported_and_the_others_collected(bare_course, tmp_path, capsys):
    carol, dan = _notebook_bytes("carol's work"), _notebook_bytes("dan's work")
    archive = tmp_path / "export.zip"
    with zipfile.ZipFile(archive, "w") as zf:
        zf.writestr(f"alice_1_{NB}", _notebook_bytes("alice"))
        zf.writestr(f"carol_1_{NB}", carol, compress_type=zipfile.ZIP_STORED)
        zf.writestr(f"dan_1_{NB}", dan, compress_type=zipfile.ZIP_DEFLATED)
        zf.writestr(f"bob_1_{NB}", _notebook_bytes("bob"))
    raw = bytearray(archive.read_bytes())
    raw[raw.index(carol) + 100] ^= 0xFF  # stored member: one byte flipped, the CRC no longer matches
    with zipfile.ZipFile(archive) as zf:
        info = zf.getinfo(f"dan_1_{NB}")
    start = info.header_offset + 30 + len(info.filename) + len(info.extra)
    raw[start:start + info.compress_size] = b"\xff" * info.compress_size  # deflated member: garbage stream
    archive.write_bytes(bytes(raw))

    report = collect(bare_course, archive)
    assert report.placed == [("alice", AID), ("bob", AID)]
    assert report.skipped == [
        (f"carol_1_{NB}", f"corrupt or unreadable (Bad CRC-32 for file 'carol_1_{NB}'): not collected"),
        (f"dan_1_{NB}", "corrupt or unreadable (Error -3 while decompressing data: invalid block type): "
                        "not collected")]
    assert _all_paths(bare_course.submitted) == ["alice", f"alice/{AID}", f"alice/{AID}/{NB}",
                                                  f"alice/{AID}/timestamp.txt", "bob", f"bob/{AID}",
                                                  f"bob/{AID}/{NB}", f"bob/{AID}/timestamp.txt"]

    assert cli.main(["--course", str(bare_course.root), "collect", str(archive)]) == 1
    out = capsys.readouterr().out.splitlines()
    assert out == report_lines(report)
    assert out[:4] == [f"collected alice/{AID}", f"collected bob/{AID}",
                       f"skipped carol_1_{NB}: corrupt or unreadable (Bad CRC-32 for file 'carol_1_{NB}'): "
                       "not collected",
                       f"skipped dan_1_{NB}: corrupt or unreadable (Error -3 while decompressing data: "
                       "invalid block type): not collected"]
    assert out[4].startswith("summary: 2 collected (2 notebook files, ") and "2 skipped (2 could be submissions)" in out[4]


_MEASURE = """
import json, sys, tracemalloc
from pathlib import Path
from autograder.collect import collect
from autograder.course import Course
from autograder.roster import load_roster


def peak_rss_kib():
    # VmHWM is this process's own peak; ru_maxrss would start at the parent's (kept across exec)
    with open("/proc/self/status") as status:
        return next(int(line.split()[1]) for line in status if line.startswith("VmHWM:"))


course = Course(Path(sys.argv[1]))
# what every collection pays whatever the archive: reading nbgrader_config.py (its imports) for the
# gradebook's URL and the roster; measured apart, so what follows is what this archive costs
load_roster(course)
before = peak_rss_kib()
tracemalloc.start()
report = collect(course, sys.argv[2])
traced = tracemalloc.get_traced_memory()[1]
tracemalloc.stop()
print(json.dumps({"rss_grew_kib": peak_rss_kib() - before, "traced_peak_kib": traced // 1024,
                  "placed": report.placed, "skipped": report.skipped}))
"""


def _collect_measured(course: Course, archive: Path) -> dict:
    """Collect ``archive`` in a fresh interpreter: its report, how much its peak resident memory grew and
    the peak of Python's allocations during the collection (KiB)."""
    if not Path("/proc/self/status").is_file():
        pytest.skip("needs Linux's /proc/self/status to measure peak memory")
    done = subprocess.run([sys.executable, "-c", _MEASURE, str(course.root), str(archive)],
                          capture_output=True, text=True, timeout=60, check=False)
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


def _assert_small_memory(result: dict) -> None:
    assert result["rss_grew_kib"] < 20 * 1024, f"peak memory grew by {result['rss_grew_kib']} KiB"
    assert result["traced_peak_kib"] < 5 * 1024, f"Python allocations peaked at {result['traced_peak_kib']} KiB"


def test_zip_bomb_is_refused_with_little_memory_and_disk(bare_course, tmp_path):
    """The attack: 240 MiB of zeros in six members of 40 MiB (each under the per-notebook cap), 250 KB zipped."""
    archive = tmp_path / "bomb.zip"
    zeros = bytes(MiB)
    with zipfile.ZipFile(archive, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr(f"alice/{AID}/{NB}", _notebook_bytes("alice"))
        for i in range(6):
            with zf.open(f"s{i}/{AID}/{NB}", "w") as out:
                for _ in range(40):
                    out.write(zeros)
    assert archive.stat().st_size < 400_000

    result = _collect_measured(bare_course, archive)
    assert result["placed"] == [["alice", AID]]
    assert result["skipped"] == [[f"s{i}/{AID}/{NB}", f"{BOMB} (declares {40 * MiB} bytes): not read"]
                                 for i in range(6)]
    _assert_small_memory(result)
    assert sum(len(b) for b in _tree(bare_course.work).values()) < 100_000, "nothing large written"
    assert _all_paths(bare_course.submitted) == ["alice", f"alice/{AID}", f"alice/{AID}/{NB}",
                                                  f"alice/{AID}/timestamp.txt"]


def test_header_lying_about_the_size_is_not_trusted(bare_course, tmp_path):
    """A 40 MiB member whose central directory claims 1000 bytes (under every cap): read as 1000 bytes, CRC fails."""
    archive = tmp_path / "liar.zip"
    with zipfile.ZipFile(archive, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr(f"alice/{AID}/{NB}", _notebook_bytes("alice"))
        with zf.open(f"mallory/{AID}/{NB}", "w") as out:
            for _ in range(40):
                out.write(bytes(MiB))
    _patch_central(archive, f"mallory/{AID}/{NB}", 24, "<L", 1000)

    result = _collect_measured(bare_course, archive)
    assert result["placed"] == [["alice", AID]]
    assert result["skipped"] == [[f"mallory/{AID}/{NB}",
                                  f"corrupt or unreadable (Bad CRC-32 for file 'mallory/{AID}/{NB}'): not collected"]]
    _assert_small_memory(result)
    assert _all_paths(bare_course.submitted) == ["alice", f"alice/{AID}", f"alice/{AID}/{NB}",
                                                  f"alice/{AID}/timestamp.txt"]


def test_overlapping_members_hit_the_archive_ratio(bare_course, tmp_path):
    """One member's data listed 30 times in the central directory: each copy passes the member ratio,
    the archive as a whole may not expand beyond max_ratio times its size."""
    payload = bytes(b"01"[b % 2] for b in os.urandom(200_000))  # about 8x compressible
    archive = _zip(tmp_path / "overlap.zip", {f"eve/{AID}/{NB}": payload})
    raw = archive.read_bytes()
    with zipfile.ZipFile(archive) as zf:
        start = zf.start_dir
    eocd = raw.rindex(b"PK\x05\x06")
    record = raw[start:eocd]
    copies = 30
    end = bytearray(raw[eocd:eocd + 22])
    struct.pack_into("<2H2L", end, 8, copies, copies, len(record) * copies, start)
    archive.write_bytes(raw[:start] + record * copies + bytes(end))
    ratio = int(2.5 * len(payload) / archive.stat().st_size)  # room for two copies, not three
    limits = CollectLimits(max_ratio=ratio, ratio_floor_bytes=0)
    allowed = ratio * archive.stat().st_size
    assert 2 * len(payload) <= allowed < 3 * len(payload)
    assert len(payload) < ratio * zipfile.ZipFile(archive).infolist()[0].compress_size, "each copy passes alone"

    report = collect(bare_course, archive, limits=limits)
    name = f"eve/{AID}/{NB}"
    assert report.placed == [("eve", AID)]
    if hasattr(zipfile.ZipInfo(), "_end_offset"):  # newer Pythons refuse overlapping entries themselves
        expected = [(name, "corrupt or unreadable (Overlapped entries): not collected")] * (copies - 1)
    else:
        expected = [(name, f"replaced by {name}: same student, assignment and notebook name")] + [
            (name, f"the archive would expand more than {ratio} times its size (zip bomb?) "
                   "(declares 200000 bytes): not read")] * (copies - 2)
    assert report.skipped == expected
    assert report.bytes_written <= allowed
    assert (bare_course.submitted / "eve" / AID / NB).read_bytes() == payload


def test_notebook_over_the_member_cap_in_a_zip_and_a_folder(bare_course, tmp_path):
    big = 60_000_000
    archive = tmp_path / "big.zip"
    with zipfile.ZipFile(archive, "w", zipfile.ZIP_STORED) as zf:
        zf.writestr(f"alice/{AID}/{NB}", _notebook_bytes("alice"))
        with zf.open(f"bob/{AID}/{NB}", "w") as out:
            for _ in range(60):
                out.write(bytes(1_000_000))
    report = collect(bare_course, archive)
    assert report.placed == [("alice", AID)]
    assert report.skipped == [(f"bob/{AID}/{NB}", f"over the 50 MiB per-notebook cap (declares {big} bytes): not read")]

    src = tmp_path / "inbox"
    (src / "carol" / AID).mkdir(parents=True)
    (src / "carol" / AID / NB).write_bytes(_notebook_bytes("carol"))
    (src / "dan" / AID).mkdir(parents=True)
    with open(src / "dan" / AID / NB, "wb") as sparse:
        sparse.truncate(big)
    report = collect(bare_course, src)
    assert report.placed == [("carol", AID)]
    assert report.skipped == [(f"dan/{AID}/{NB}", f"over the 50 MiB per-notebook cap ({big} bytes): not read")]
    assert not (bare_course.submitted / "bob").exists() and not (bare_course.submitted / "dan").exists()


def test_the_cap_holds_while_streaming_whatever_the_source_claims():
    """A source that never ends (as a lying header or a growing file would): read at most cap + 1 bytes."""
    asked, kept = [], []

    def endless(n):
        asked.append(n)
        return b"\0" * n

    with pytest.raises(collect_module._Rejected, match="^over the cap: not collected$"):
        collect_module._copy_capped(endless, kept.append, 200_000, "over the cap")
    assert sum(asked) == 200_001, "at most cap + 1 bytes are asked for"
    assert sum(map(len, kept)) == 3 * 64 * 1024, "the chunk crossing the cap is not written"


def test_collection_total_cap(bare_course, tmp_path):
    notebooks = {f"{s}/{AID}/{NB}": _notebook_bytes(s * 100) for s in ("ann", "ben", "cid")}
    archive = _zip(tmp_path / "x.zip", notebooks)
    cap = len(notebooks[f"ann/{AID}/{NB}"]) + len(notebooks[f"ben/{AID}/{NB}"])
    report = collect(bare_course, archive, limits=CollectLimits(max_total_bytes=cap))
    assert report.placed == [("ann", AID), ("ben", AID)]
    assert report.skipped == [(f"cid/{AID}/{NB}", f"over the {collect_module._size(cap)} cap for one collection "
                                                  f"(declares {len(notebooks[f'cid/{AID}/{NB}'])} bytes): not read")]


def test_member_count_cap(bare_course, tmp_path):
    members = {f"alice/{AID}/{NB}": _notebook_bytes("a"), f"bob/{AID}/{NB}": _notebook_bytes("b")}
    members.update({f"junk/{i}.txt": b"x" for i in range(10)})
    members[f"zed/{AID}/{NB}"] = _notebook_bytes("z")
    archive = _zip(tmp_path / "many.zip", members)
    report = collect(bare_course, archive, limits=CollectLimits(max_members=5))
    assert report.placed == [("alice", AID), ("bob", AID)]
    assert report.skipped == [(f"junk/{i}.txt", NOT_A_NOTEBOOK) for i in range(3)] + [
        ("many.zip", "8 more members not read: over the 5-member cap")]
    assert (report.entries, report.complete) == (5, False)

    src = tmp_path / "inbox"
    for student in ("amy", "bea", "cat"):
        (src / student / AID).mkdir(parents=True)
        (src / student / AID / NB).write_bytes(_notebook_bytes(student))
    report = collect(bare_course, src, limits=CollectLimits(max_members=6))
    assert report.placed == [("amy", AID), ("bea", AID)]
    assert report.skipped == [("inbox", "entries after the first 6 not read: over the 6-member cap")]


def test_bzip2_and_encrypted_members_are_not_read(bare_course, tmp_path):
    archive = tmp_path / "x.zip"
    with zipfile.ZipFile(archive, "w") as zf:
        zf.writestr(f"alice/{AID}/{NB}", _notebook_bytes("alice"), compress_type=zipfile.ZIP_DEFLATED)
        zf.writestr(f"bob/{AID}/{NB}", _notebook_bytes("bob"), compress_type=zipfile.ZIP_BZIP2)
        zf.writestr(f"cid/{AID}/{NB}", _notebook_bytes("cid"), compress_type=zipfile.ZIP_DEFLATED)
    _patch_central(archive, f"cid/{AID}/{NB}", 8, "<H", 0x1)  # the "encrypted" flag
    report = collect(bare_course, archive)
    assert report.placed == [("alice", AID)]
    assert report.skipped == [(f"bob/{AID}/{NB}", "compressed with bzip2 (only stored and deflated members are read)"),
                              (f"cid/{AID}/{NB}", "encrypted: not read")]


def test_unsafe_member_names_are_reported_and_never_used_as_paths(bare_course, tmp_path):
    before = _tree(tmp_path)
    archive = _zip(tmp_path / "x.zip", {
        f"alice/{AID}/{NB}": _notebook_bytes("alice"),
        f"../../eve_1_{NB}": _notebook_bytes("dotdot"),
        f"/tmp/eve_2_{NB}": _notebook_bytes("absolute"),
        f"alice/../../eve/{AID}/{NB}": _notebook_bytes("climbing"),
        f"C:\\Users\\eve_3_{NB}": _notebook_bytes("drive"),
        "../../../etc/cron.d/evil": b"* * * * * root true",
        f"eve\x1b[2J_4_{NB}": _notebook_bytes("terminal escape"),
        f"eve/{AID}/.{NB}": _notebook_bytes("dot file"),
        f"eve/{AID}/x\x07y.ipynb": _notebook_bytes("bell"),
    })
    report = collect(bare_course, archive)
    assert report.placed == [("alice", AID)]
    assert report.skipped == [
        (f"../../eve_1_{NB}", UNSAFE), (f"/tmp/eve_2_{NB}", UNSAFE), (f"alice/../../eve/{AID}/{NB}", UNSAFE),
        (f"C:\\Users\\eve_3_{NB}", UNSAFE), ("../../../etc/cron.d/evil", UNSAFE),
        (f"eve\\x1b[2J_4_{NB}", "student id 'eve\\x1b[2J' is not usable (letters, digits and . _ @ -, "
                                "starting with a letter or digit)"),
        (f"eve/{AID}/x\\x07y.ipynb", "file name 'x\\x07y.ipynb' is not usable (control characters, a leading dot "
                                     "or over 255 bytes)")]
    assert (report.ignored, report.missed) == (1, 6), "the dot file is quiet, the cron file not a notebook"
    assert not Path(f"/tmp/eve_2_{NB}").exists()
    assert _tree(tmp_path) == {**before, **{str(p.relative_to(tmp_path)): p.read_bytes()
                                            for p in [archive, *bare_course.submitted.rglob("*")] if p.is_file()}}
    assert _all_paths(bare_course.submitted) == ["alice", f"alice/{AID}", f"alice/{AID}/{NB}",
                                                  f"alice/{AID}/timestamp.txt"]


def test_student_id_over_64_characters(bare_course, tmp_path):
    long_id = "s" * 70
    reason = f"student id '{long_id}' is longer than 64 characters"
    archive = _zip(tmp_path / "x.zip", {f"{long_id}_1_{NB}": _notebook_bytes("flat"),
                                        f"{long_id}/{AID}/{NB}": _notebook_bytes("folder"),
                                        f"{'t' * 64}_1_{NB}": _notebook_bytes("64 is fine")})
    for aid in (None, AID):  # --aid must not turn "f1_toy.ipynb" into student "f1"
        report = collect(bare_course, archive, aid)
        assert report.placed == [("t" * 64, AID)]
        assert report.skipped == [(f"{long_id}_1_{NB}", reason), (f"{long_id}/{AID}/{NB}", reason)]
    assert sorted(p.name for p in bare_course.submitted.iterdir()) == ["t" * 64]


# --- hostile folders ---------------------------------------------------------------------------
def test_symlinks_in_a_folder_are_not_followed(bare_course, tmp_path):
    secret = tmp_path / "outside" / "secret.ipynb"
    secret.parent.mkdir()
    secret.write_bytes(_notebook_bytes("the instructor's secret"))
    (tmp_path / "outside" / AID).mkdir()
    (tmp_path / "outside" / AID / NB).write_bytes(_notebook_bytes("the instructor's secret"))
    src = tmp_path / "inbox"
    for student in ("alice", "mallory"):
        (src / student / AID).mkdir(parents=True)
    (src / "alice" / AID / NB).write_bytes(_notebook_bytes("alice"))
    (src / "mallory" / AID / NB).symlink_to(secret)
    (src / "trudy").symlink_to(tmp_path / "outside")  # a whole student folder pointing outside
    (src / "alice" / AID / "draft.ipynb").symlink_to(src / "alice" / AID / NB)  # even inside the source

    report = collect(bare_course, src)
    assert report.placed == [("alice", AID)]
    assert report.skipped == [(f"alice/{AID}/draft.ipynb", "symbolic link: not followed"),
                              (f"mallory/{AID}/{NB}", "symbolic link: not followed"),
                              ("trudy", "symbolic link: not followed")]
    assert not any(b"secret" in data for data in _tree(bare_course.work).values())
    assert _all_paths(bare_course.submitted) == ["alice", f"alice/{AID}", f"alice/{AID}/{NB}",
                                                  f"alice/{AID}/timestamp.txt"]


@pytest.mark.timeout(20)
def test_a_fifo_in_a_folder_does_not_hang(bare_course, tmp_path, monkeypatch):
    src = tmp_path / "inbox"
    for student in ("alice", "fred"):
        (src / student / AID).mkdir(parents=True)
    (src / "alice" / AID / NB).write_bytes(_notebook_bytes("alice"))
    os.mkfifo(src / "fred" / AID / NB)
    report = collect(bare_course, src)
    assert report.placed == [("alice", AID)]
    assert report.skipped == [(f"fred/{AID}/{NB}", "not a regular file: not read")]

    real_walk = collect_module._walk

    def raced(*args):
        """The listing saw a regular file; by the time it is opened, it is a FIFO."""
        for entry in real_walk(*args):
            yield entry._replace(kind="file") if entry.kind == "special" else entry

    monkeypatch.setattr(collect_module, "_walk", raced)
    report = collect(bare_course, src)
    assert report.placed == [("alice", AID)]
    assert report.skipped == [(f"fred/{AID}/{NB}", "not a regular file: not read")]
    assert not (bare_course.submitted / "fred").exists()


def test_folders_nested_too_deep_are_reported(bare_course, tmp_path):
    src = tmp_path / "inbox"
    (src / "alice" / AID).mkdir(parents=True)
    (src / "alice" / AID / NB).write_bytes(_notebook_bytes("alice"))
    deep = src / "a" / "b" / "c"
    deep.mkdir(parents=True)
    report = collect(bare_course, src, limits=CollectLimits(max_depth=2))
    assert report.placed == [("alice", AID)]
    assert report.skipped == [("a/b/c", "folder nested deeper than 2 levels: not read")]


# --- a crash midway ----------------------------------------------------------------------------
def test_a_crash_midway_leaves_the_old_student_whole(bare_course, tmp_path, monkeypatch):
    first = _zip(tmp_path / "first.zip", {f"alice/{AID}/{NB}": _notebook_bytes("v1"),
                                          f"alice/{AID}/draft.ipynb": _notebook_bytes("draft v1")})
    collect(bare_course, first)
    alice = bare_course.submitted / "alice" / AID
    old = _tree(alice)
    second = _zip(tmp_path / "second.zip", {f"alice/{AID}/{NB}": _notebook_bytes("v2"),
                                            f"alice/{AID}/draft.ipynb": _notebook_bytes("draft v2"),
                                            f"bob/{AID}/{NB}": _notebook_bytes("bob")})
    real_copy = collect_module._copy_capped
    calls = []

    def disk_full_on_second_file(*args):
        calls.append(1)
        if len(calls) == 2:
            raise OSError(28, "No space left on device")
        return real_copy(*args)

    monkeypatch.setattr(collect_module, "_copy_capped", disk_full_on_second_file)
    with pytest.raises(OSError, match="No space left"):
        collect(bare_course, second)
    assert _tree(alice) == old, "alice's old folder is untouched"
    assert _all_paths(bare_course.submitted) == ["alice", *(f"alice/{AID}{p}" for p in
                                                            ("", "/draft.ipynb", f"/{NB}", "/timestamp.txt"))]
    monkeypatch.undo()

    real_rename = os.rename

    def swap_fails(src, dst):
        if ".incoming-" in str(src):
            raise OSError(5, "Input/output error")
        return real_rename(src, dst)

    monkeypatch.setattr(os, "rename", swap_fails)
    with pytest.raises(OSError, match="Input/output error"):
        collect(bare_course, second)
    monkeypatch.undo()
    assert _tree(alice) == old, "a failed swap puts the old folder back"
    assert submitted_students(bare_course, AID) == ["alice"]
    assert _all_paths(bare_course.submitted / "alice") == [AID, f"{AID}/draft.ipynb", f"{AID}/{NB}",
                                                           f"{AID}/timestamp.txt"]


# --- the command line --------------------------------------------------------------------------
def test_cli_lines_and_exit_status(bare_course, tmp_path, capsys):
    root = str(bare_course.root)
    clean = _zip(tmp_path / "clean.zip", {f"alice/{AID}/{NB}": _notebook_bytes("a"), "readme.txt": b"hi",
                                          f"__MACOSX/alice/{AID}/._{NB}": b"fork"})
    assert cli.main(["--course", root, "collect", str(clean)]) == 0, "a skipped readme is not a missed notebook"
    assert capsys.readouterr().out.splitlines() == [
        f"collected alice/{AID}", f"skipped readme.txt: {NOT_A_NOTEBOOK}",
        "summary: 1 collected (1 notebook files, "
        f"{collect_module._size(len(_notebook_bytes('a')))}), 1 skipped (0 could be submissions), 1 ignored "
        "(__MACOSX/, .ipynb_checkpoints/, dot files), 3 entries read"]

    missed = _zip(tmp_path / "missed.zip", {f"alice/{AID}/{NB}": _notebook_bytes("a"),
                                            "nobody.ipynb": _notebook_bytes("?")})
    assert cli.main(["--course", root, "collect", str(missed)]) == 1
    assert capsys.readouterr().out.splitlines()[1] == (
        "skipped nobody.ipynb: no student and assignment in the name "
        "(expected <student>/<aid>/*.ipynb or <student>_..._<notebook>.ipynb)")

    useless = _zip(tmp_path / "useless.zip", {f"{'x' * 65}_1_{NB}": _notebook_bytes("?")})
    assert cli.main(["--course", root, "collect", str(useless)]) == 2
    captured = capsys.readouterr()
    assert captured.out.splitlines()[0] == f"skipped {'x' * 65}_1_{NB}: student id '{'x' * 65}' is longer than 64 characters"
    assert "no submissions found" in captured.err and "1 skipped, first" in captured.err
