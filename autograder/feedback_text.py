"""The fixed words of a feedback page, per edition (:mod:`autograder.editions`).

A page speaks the language of the notebook it shows: :class:`autograder.feedback_page.FeedbackSummary`
reads the edition from the graded notebook's metadata (the release stamps it; changing it changes only
these words) and takes its words from :func:`words`. The grader's notes (the report's) and the trusted
step's per-case messages stay English for now. :func:`localize_labels` translates the few labels
nbgrader's own feedback template writes around each cell ("Student's answer", "Score:", ...).

Values here are HTML fragments: escaped text with at most ``<code>``; ``{...}`` fields are filled with
escaped values by the caller.
"""

from __future__ import annotations

__all__ = ["WORDS", "HINTS", "words", "hints", "localize_labels"]

WORDS = {
    "en": {
        "full marks": "full marks", "partly right": "partly right", "no points": "no points",
        "not graded": "not graded",
        "exercise": "Exercise {n}", "hidden tests": "Hidden tests",
        "all passed": "Your notebook ran from top to bottom and every hidden test passed.",
        "some failed": "Your notebook ran from top to bottom without trouble; the exercises below say which hidden "
                       "cases failed and what to try.",
        "late penalty": "late submission penalty",
        "summary head": ("exercise", "what", "points", "status"),
        "total": "{title}: {score} / {max} points",
        "notes": "Grader's notes",
        "cases head": ("case", "inputs", "what happened"),
        "more": "... and {n} more",
        "result": "{what}, hidden tests: <b>{score} / {points} points</b> ({status})",
        "check": "Check <code>{name}</code>: {passed} of {total} cases pass.",
        "scaled": "Cases that must raise, and the examples printed in the notebook, count only together with "
                  "the fresh cases.",
        "no report": "No per-case report was kept for this cell.",
        "try": "What to try",
        "cell score": "hidden tests: {score} / {points}",
    },
    "zh": {
        "full marks": "满分", "partly right": "部分正确", "no points": "未得分", "not graded": "未批改",
        "exercise": "练习 {n}", "hidden tests": "隐藏测试",
        "all passed": "你的 notebook 从头到尾顺利运行，所有隐藏测试都通过了。",
        "some failed": "你的 notebook 从头到尾顺利运行；下面的各道练习说明了哪些隐藏测试用例没有通过，以及可以怎样改。",
        "late penalty": "迟交扣分",
        "summary head": ("练习", "内容", "得分", "状态"),
        "total": "{title}：{score} / {max} 分",
        "notes": "批改说明",
        "cases head": ("用例", "输入", "结果"),
        "more": "……另有 {n} 个",
        "result": "{what}，隐藏测试：<b>{score} / {points} 分</b>（{status}）",
        "check": "检查 <code>{name}</code>：{total} 个用例中通过 {passed} 个。",
        "scaled": "必须抛出异常的用例，以及 notebook 中打印出的例子，只与新生成的用例一起计分。",
        "no report": "这个单元格没有保存逐个用例的报告。",
        "try": "可以试试",
        "cell score": "隐藏测试：{score} / {points}",
    },
}

#: What to try, per kind of failure (:func:`autograder.feedback_page.failure_kind`) and edition.
HINTS = {
    "en": {
        "todo": "This answer is not written yet: replace the <code>raise NotImplementedError()</code> line with "
                "your code.",
        "withheld": "This exercise asks for your own implementation: compute it with NumPy instead of calling "
                    "the library's function.",
        "no_answer": "The hidden test got no answer: an earlier cell stopped the notebook (an error, a crash or "
                     "the time limit). Restart the kernel and run all cells; every cell above this one must finish.",
        "timeout": "Your code ran out of time on these inputs: look for a loop that does far more work than "
                   "the output needs (or never ends), and time it on the sizes shown.",
        "must_raise": "These settings are invalid: check them before computing and raise the error named "
                      "above (the exercise says when) instead of returning a value.",
        "raised": "Your code raised an error on these inputs: call it yourself with arrays of the shapes shown "
                  "and read the traceback.",
        "shape": "The result has the wrong shape or structure: work out by hand what the exercise asks to "
                 "return for the inputs shown (count the output positions with the output-size formula).",
        "dtype": "The values have the wrong type: return floats where the reference does (integer arrays "
                 "round every value down).",
        "value": "The shape is right but values differ: rerun the inputs shown on a tiny example you can check "
                 "by hand, and look at stride, padding and the loop bounds.",
    },
    "zh": {
        "todo": "这道题还没有作答：把 <code>raise NotImplementedError()</code> 这一行换成你的代码。",
        "withheld": "这道练习要求你自己实现：用 NumPy 计算，不要调用库里现成的函数。",
        "no_answer": "隐藏测试没有得到答案：前面某个单元格让 notebook 停了下来（出错、崩溃或超时）。"
                     "重启内核并运行全部单元格；这个单元格上面的每个单元格都必须运行完。",
        "timeout": "你的代码在这些输入上超时了：找找有没有做了远超输出所需工作量（或者永不结束）的循环，"
                   "并在给出的尺寸上计时。",
        "must_raise": "这些设置是无效的：计算之前先检查，并抛出上面指出的错误（练习里说明了什么时候抛出），"
                      "而不是返回一个值。",
        "raised": "你的代码在这些输入上抛出了错误：自己用给出形状的数组调用它，读一读报错信息。",
        "shape": "结果的形状或结构不对：对给出的输入，手算一下练习要求返回什么（用输出尺寸公式数一数输出位置）。",
        "dtype": "数值的类型不对：参考答案返回浮点数的地方，你也要返回浮点数（整数数组会把每个值向下取整）。",
        "value": "形状对了，但数值不同：在一个能手算的小例子上重跑给出的输入，检查步长、填充和循环边界。",
    },
}

# nbgrader's feedback template writes these labels around cells (its macros, which ours extends)
_NBGRADER_LABELS = {
    "zh": (("<span class=\"nbgrader-label\">Student's answer</span>", '<span class="nbgrader-label">你的答案</span>'),
           ("<span class=\"nbgrader-label\">Student's task</span>", '<span class="nbgrader-label">你的任务</span>'),
           ('<span class="nbgrader-label">Grade cell: ', '<span class="nbgrader-label">评分单元格：'),
           ('<a href="#top">(Top)</a>', '<a href="#top">（回到顶部）</a>'),
           ("<b>Comments:</b>", "<b>评语：</b>"),
           ("Score: ", "得分：")),
}


def words(edition: str) -> dict:
    """The page's words in ``edition`` (English for an edition without its own)."""
    return WORDS.get(edition, WORDS["en"])


def hints(edition: str) -> dict:
    """What to try, per kind of failure, in ``edition`` (English for an edition without its own)."""
    return HINTS.get(edition, HINTS["en"])


def localize_labels(page: str, edition: str) -> str:
    """``page`` with nbgrader's template labels in ``edition`` (unchanged in English)."""
    for english, translated in _NBGRADER_LABELS.get(edition, ()):
        page = page.replace(english, translated)
    return page
