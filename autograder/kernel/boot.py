"""The kernel process inside the sandbox: cap output, start ipykernel.

Started as ``python -m autograder.kernel.boot -f CONNECTION_FILE`` inside bubblewrap.

Output floods are cut *here* too, as they are produced (``CONVLAB_OUTPUT_CAP="lines:bytes"``): a
cell printing a million lines then costs a second instead of a million messages. This cap only
saves time; the trusted cap that decides what reaches the graded notebook is the grader's
(:class:`autograder.execution.SandboxExecute`). The kernel lets a little more than the grader's cap
through, so the grader always sees the overflow and records the truncation.
"""

from __future__ import annotations

import os
import sys

from autograder.kernel.protocol import OUTPUT_CAP_ENV

__all__ = ["main", "parse_output_cap", "capped_outstream_class"]

_MARGIN_LINES, _MARGIN_BYTES = 50, 5_000


def parse_output_cap(text: str | None) -> tuple[int, int] | None:
    """``"2000:200000"`` -> ``(2050, 205000)`` (the grader's cap plus a margin); ``None`` if unset or bad."""
    try:
        lines, size = (int(x) for x in str(text).split(":"))
    except (TypeError, ValueError):
        return None
    if lines <= 0 or size <= 0:
        return None
    return lines + _MARGIN_LINES, size + _MARGIN_BYTES


class _Sink:
    """Stands in for ``sys.stdout`` / ``sys.stderr`` once a cell's output passed the cap.

    ``write`` is the builtin ``len``: a dropped ``print`` costs one C call instead of a trip through
    ipykernel's stream. At the next request the kernel calls ``set_parent`` on ``sys.stdout``, and
    the real stream is put back.
    """

    write = staticmethod(len)

    def __init__(self, stream):
        self._stream = stream

    def flush(self):
        # what the real stream buffered before the cap must still reach the grader with this cell
        return self._stream.flush()

    def writelines(self, lines):
        for _ in lines:
            pass

    def set_parent(self, parent):
        self._stream.cap_restore(parent)

    def __getattr__(self, name):
        return getattr(self._stream, name)


def capped_outstream_class(max_lines: int, max_bytes: int):
    """An ipykernel ``OutStream`` that drops a cell's output beyond ``max_lines`` / ``max_bytes``.

    Counts per request (the parent message of the running cell), per stream. Past the cap it puts a
    :class:`_Sink` in its place in ``sys`` until the next request.
    """
    from ipykernel.iostream import OutStream  # noqa: PLC0415 - only inside a kernel

    class CappedOutStream(OutStream):
        _cap_key = None
        _cap_used = (0, 0)

        def write(self, string):
            if not isinstance(string, str):
                return super().write(string)  # raises ipykernel's own TypeError
            key = self.parent_header.get("msg_id")
            lines, size = self._cap_used if key == self._cap_key else (0, 0)
            self._cap_key = key
            if lines > max_lines or size > max_bytes:
                if getattr(sys, self.name, None) is self:
                    setattr(sys, self.name, _Sink(self))
                return len(string)  # dropped: the grader has already marked this cell truncated
            self._cap_used = (lines + string.count("\n"), size + len(string))
            return super().write(string)

        def cap_restore(self, parent):
            """A new request: count afresh and take ``sys.<name>`` back from the sink."""
            self._cap_key, self._cap_used = None, (0, 0)
            if isinstance(getattr(sys, self.name, None), _Sink):
                setattr(sys, self.name, self)
            self.set_parent(parent)

    return CappedOutStream


def main() -> None:
    from ipykernel import kernelapp  # noqa: PLC0415 - heavy; the module itself imports light

    cap = parse_output_cap(os.environ.get(OUTPUT_CAP_ENV))
    if cap is not None:
        # IPKernelApp imports its outstream_class by dotted name: publish the capped class here.
        globals()["CappedOutStream"] = capped_outstream_class(*cap)
        sys.argv.append(f"--IPKernelApp.outstream_class={__name__}.CappedOutStream")
    kernelapp.launch_new_instance()


if __name__ == "__main__":
    main()
