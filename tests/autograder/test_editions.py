"""autograder.editions: translations live in the source's cell metadata and change only prose."""

from __future__ import annotations

import nbformat
import pytest
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook

from autograder.editions import (TRANSLATIONS, TranslationError, code_skeleton, edition_notebook,
                                 missing_translations, notebook_edition, release_folder_name, stale_translations,
                                 stamp_translations, translate_cell)
from autograder.feedback_page import result_html, summary_html
from autograder.feedback_text import HINTS, WORDS, localize_labels

STUB = '''def area(h, w):
    """Area of an h x w window."""
    # rows times columns
    assert h > 0, f"h must be positive, got {h}"
    print("area of", h, "x", w)
    return h * w
'''


def _cell(zh, source=STUB):
    cell = new_code_cell(source)
    cell.metadata[TRANSLATIONS] = {"zh": zh}
    return cell


def test_prose_is_translated_and_the_code_kept():
    cell = _cell([['"""Area of an h x w window."""', '"""h x w 窗口的面积。"""'], ["# rows times columns", "# 行数乘列数"],
                  ['f"h must be positive, got {h}"', 'f"h 必须为正，得到的是 {h}"'], ['"area of"', '"面积："']])
    out = translate_cell(cell, "zh")
    assert "h x w 窗口的面积" in out.source and "# 行数乘列数" in out.source and "面积：" in out.source
    assert TRANSLATIONS not in out.metadata and code_skeleton(out.source) == code_skeleton(STUB)
    assert translate_cell(cell, "en").source == STUB and TRANSLATIONS not in translate_cell(cell, "en").metadata


@pytest.mark.parametrize("pair", [
    ["return h * w", "return w * h"],          # code itself
    ['"area of", h', '"area of", w'],          # an argument of print that is not a string
    ["h > 0", "h >= 0"],                       # the asserted condition, not its message
    ['f"h must be positive, got {h}"', 'f"h 必须为正，得到的是 {w}"'],  # what an f-string computes
])
def test_a_translation_that_changes_code_is_refused(pair):
    with pytest.raises(TranslationError, match="changes code"):
        translate_cell(_cell([pair]), "zh")


def test_strings_that_are_data_stay_code():
    source = 'if mode == "valid":\n    print("no padding")\n'
    assert code_skeleton(source) == code_skeleton(source.replace('"no padding"', '"不填充"'))
    assert code_skeleton(source) != code_skeleton(source.replace('"valid"', '"有效"'))
    # placeholders of a message may move, as a sentence in another language needs
    assert code_skeleton('print(f"{a} of {b}")') == code_skeleton('print(f"{b} 中的 {a}")')


def test_a_snippet_missing_from_the_cell_is_refused():
    with pytest.raises(TranslationError, match="not in the cell"):
        translate_cell(_cell([["no such text", "没有"]]), "zh")


def test_an_edition_keeps_ids_metadata_and_order_and_is_stamped():
    md = new_markdown_cell("## Stride\n\nThe stride S.")
    md.metadata[TRANSLATIONS] = {"zh": ["## 步长\n", "\n", "步长（stride）S。"]}
    code = _cell([["# rows times columns", "# 行数乘列数"]])
    code.metadata["nbgrader"] = {"grade_id": "area", "solution": True, "schema_version": 3}
    plain = new_markdown_cell("untranslated")
    nb = new_notebook(cells=[md, code, plain])
    zh = edition_notebook(nb, "zh")
    assert [c.id for c in zh.cells] == [c.id for c in nb.cells]
    assert zh.cells[0].source == "## 步长\n\n步长（stride）S。" and zh.cells[2].source == "untranslated"
    assert zh.cells[1].metadata == {"nbgrader": code.metadata["nbgrader"]}
    assert notebook_edition(zh) == "zh" and notebook_edition(edition_notebook(nb, "en")) == "en"
    assert "convlab" not in edition_notebook(nb, "en").metadata
    assert missing_translations(nb, "zh") == [f"cell 2 (id {plain.id}): untranslated"]
    nbformat.validate(zh)


def test_unknown_editions():
    nb = new_notebook(metadata={"convlab": {"edition": "xx"}})
    assert notebook_edition(nb) == "en" and notebook_edition(new_notebook(metadata={"convlab": "zh"})) == "en"
    with pytest.raises(TranslationError):
        edition_notebook(nb, "xx")
    assert release_folder_name("en") == "assignments" and release_folder_name("zh") == "assignments-zh"


def test_every_edition_has_every_word_and_hint():
    for edition in WORDS:
        assert set(WORDS[edition]) == set(WORDS["en"]) and set(HINTS[edition]) == set(HINTS["en"])


def test_feedback_words_follow_the_edition():
    from autograder.exercises import GradedExercise  # noqa: PLC0415
    from autograder.feedback_page import exercise_rows  # noqa: PLC0415

    ex = GradedExercise(1, 10, "一张激活图", "", ("x_hidden",))
    entry = {"checks": [{"name": "x", "passed": 1, "total": 2, "fraction": 0.5,
                         "failures": ["case 2 (W=5): expected 3, got 4"]}]}
    zh = result_html(ex, "x_hidden", entry, 5, 10, edition="zh")
    assert "练习 1" in zh and "部分正确" in zh and "2 个用例中通过 1 个" in zh and HINTS["zh"]["value"] in zh
    assert "hidden tests" not in zh and "What to try" not in zh
    en = result_html(ex, "x_hidden", entry, 5, 10)
    assert "Exercise 1" in en and "partly right" in en and "What to try" in en
    page = summary_html("a1", exercise_rows([ex], {"x_hidden": (10, 10)}), [], 10, 10, edition="zh")
    assert "批改说明" in page and "满分" in page and "a1：10 / 10 分" in page
    assert localize_labels('<span class="nbgrader-label">Student\'s answer</span>', "zh") == \
        '<span class="nbgrader-label">你的答案</span>'


def test_an_english_cell_edited_after_its_translation_is_stale():
    nb = nbformat.v4.new_notebook()
    cell = nbformat.v4.new_markdown_cell("You write **seven** functions (100 points).")
    cell.metadata["translations"] = {"zh": "你要写七个函数（共 100 分）。"}
    nb.cells = [cell, nbformat.v4.new_markdown_cell("Not translated yet.")]
    assert len(stale_translations(nb, "zh")) == 1, "never stamped: stale"
    assert stamp_translations(nb, "zh") == 1 and stale_translations(nb, "zh") == []
    cell.source = "You write **eight** functions (110 points)."
    assert stale_translations(nb, "zh") == ["cell 0 (id " + cell.id + "): You write **eight** functions (110 points)."]
    assert "translated_from" not in edition_notebook(nb, "zh").cells[0].metadata, "the stamp is not released"
