"""Everything that runs inside the student's sandboxed kernel, and nothing else.

- :mod:`autograder.kernel.protocol` what both sides agree on: environment names, the places the
  sandbox sees, the inputs files and answer messages, the wire format of values
- :mod:`autograder.kernel.harness`  ``run_hidden``, called by hidden-test cells
- :mod:`autograder.kernel.boot`     the kernel's entry point (output cap, then ipykernel)

This package is the whole of the grader that the sandbox can see: it imports only NumPy, the
standard library and (inside a running kernel) IPython; never nbgrader, traitlets, the trusted
checks or the grader's other modules. Nothing here is trusted: the grader judges what comes out.
"""

__all__: list[str] = []
