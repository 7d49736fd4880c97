"""The editions of every notebook (autograder.editions): one source, the English and the Chinese release.

- the two editions differ only in prose: code (comments, docstrings, messages and labels aside), cell
  ids, cell types, nbgrader metadata (grade ids, points), tags and cell order are identical, in the
  committed releases and in the solution notebooks (hidden tests and solutions included);
- every student-facing markdown cell has its Chinese text; assignments still in NOT_YET_TRANSLATED
  (notebook_support) list theirs as an expected failure;
- each glossary term (docs/glossary-zh.md) carries its English on its first use in a Chinese notebook.
"""

from __future__ import annotations

import re

import pytest

from autograder.editions import (EDITIONS, code_skeleton, edition_notebook, missing_translations, notebook_edition,
                                 stale_translations)

from .notebook_support import (NOT_YET_TRANSLATED, ROOT, TRANSLATED, assignment_ids, markdown_tables, read_notebook,
                               release_notebook, solution_notebook)

AIDS = assignment_ids()
OTHER = EDITIONS[1:]
GLOSSARY = ROOT / "docs" / "glossary-zh.md"


def _differences(english, other) -> list[str]:
    """Everything but prose that differs between two editions of a notebook (empty: only prose)."""
    if len(english.cells) != len(other.cells):
        return [f"{len(english.cells)} cells in English, {len(other.cells)} in the other edition"]
    found = []
    for i, (a, b) in enumerate(zip(english.cells, other.cells)):
        where = f"cell {i} ({a.get('id')})"
        for key in ("id", "cell_type"):
            if a.get(key) != b.get(key):
                found.append(f"{where}: {key} {a.get(key)!r} != {b.get(key)!r}")
        if a.metadata != b.metadata:
            found.append(f"{where}: metadata differs (grade ids, points, tags must be identical)")
        if a.cell_type == "code" and code_skeleton(a.source) != code_skeleton(b.source):
            found.append(f"{where}: the code differs, not only its prose")
    meta = {k: v for k, v in other.metadata.items() if k != "convlab"}
    if meta != english.metadata:
        found.append("the notebook metadata differs beyond the edition stamp")
    return found


@pytest.mark.parametrize("edition", OTHER)
@pytest.mark.parametrize("aid", AIDS)
def test_released_editions_differ_only_in_prose(aid, edition):
    english, other = read_notebook(release_notebook(aid)), read_notebook(release_notebook(aid, edition))
    assert notebook_edition(english) == EDITIONS[0] and notebook_edition(other) == edition
    problems = _differences(english, other)
    assert not problems, f"{aid}: the {edition} release differs in more than prose:\n  " + "\n  ".join(problems)


@pytest.mark.parametrize("edition", OTHER)
@pytest.mark.parametrize("aid", AIDS)
def test_solution_editions_differ_only_in_prose(aid, edition):
    # the solution regions and hidden tests too: a translation never reaches code the release strips
    source = read_notebook(solution_notebook(aid))
    problems = _differences(edition_notebook(source, EDITIONS[0]), edition_notebook(source, edition))
    assert not problems, f"{aid}: the {edition} edition differs in more than prose:\n  " + "\n  ".join(problems)


@pytest.mark.parametrize("aid", [pytest.param(aid, marks=pytest.mark.xfail(
    aid in NOT_YET_TRANSLATED, strict=True, reason="in NOT_YET_TRANSLATED: its Chinese text is being written"))
    for aid in AIDS])
def test_every_markdown_cell_has_its_chinese_text(aid):
    missing = missing_translations(read_notebook(solution_notebook(aid)), "zh")
    assert not missing, (f"{aid}: {len(missing)} markdown cells have no 'zh' text (cell metadata 'translations', "
                         "autograder/README.md, Editions):\n  " + "\n  ".join(missing))


@pytest.mark.parametrize("aid", assignment_ids())
def test_no_chinese_text_is_older_than_its_english(aid):
    # every translated markdown cell records the digest of the English it was written from
    stale = stale_translations(read_notebook(solution_notebook(aid)), "zh")
    assert not stale, (f"{aid}: {len(stale)} markdown cells changed in English since their 'zh' text was written "
                       "(update the translation, then editions.stamp_translations; autograder/README.md, "
                       "Editions):\n  " + "\n  ".join(stale))


def glossary() -> list[tuple[str, str]]:
    """``(中文, English)`` rows of docs/glossary-zh.md."""
    (table,) = [t for t in markdown_tables(GLOSSARY.read_text(encoding="utf-8")) if t[0][:2] == ["中文", "English"]]
    return [(row[0], row[1]) for row in table[1:]]


def first_use_problems(markdown: str, terms) -> list[str]:
    """Terms whose first use in ``markdown`` is not followed (within a few characters, e.g. 层 after 池化)
    by brackets holding the English term."""
    problems = []
    for chinese, english in terms:
        at = markdown.find(chinese)
        if at < 0:
            continue
        after = markdown[at + len(chinese):at + len(chinese) + 4 + len(english) + 40]
        bracket = re.match(r"[^（(\n]{0,3}[（(]([^）)]*)[）)]", after)
        if not bracket or english.lower() not in bracket.group(1).lower():
            problems.append(f"{chinese}: first used without '（{english}）': ...{markdown[max(0, at - 15):at + 25]}...")
    return problems


def test_glossary_is_well_formed():
    terms = glossary()
    assert len(terms) >= 15
    assert len({c for c, _ in terms}) == len(terms) and len({e for _, e in terms}) == len(terms), "one term each way"
    for chinese, english in [("卷积层", "convolutional layer"), ("感受野", "receptive field"), ("步长", "stride"),
                             ("零填充", "zero padding"), ("深度列", "depth column"), ("参数共享", "parameter sharing"),
                             ("池化", "pooling"), ("全连接层", "fully-connected layer"), ("激活图", "activation map")]:
        assert (chinese, english) in terms, f"the issue's term {chinese} ({english}) is missing"


def test_the_first_use_check_catches_a_term_without_english():
    terms = [("感受野", "receptive field"), ("池化", "pooling")]
    assert not first_use_problems("它的 **感受野（receptive field）** 是 F；最大池化层（max pooling layer）", terms)
    assert first_use_problems("它的感受野是 F，感受野（receptive field）", terms[:1])
    assert first_use_problems("池化很常见（常用）", terms[1:])


@pytest.mark.parametrize("aid", TRANSLATED)
def test_glossary_terms_carry_english_on_first_use(aid):
    nb = read_notebook(release_notebook(aid, "zh"))
    markdown = "\n\n".join(c.source for c in nb.cells if c.cell_type == "markdown")
    problems = first_use_problems(markdown, glossary())
    assert not problems, f"{aid} (zh): glossary terms without their English on first use:\n  " + "\n  ".join(problems)
