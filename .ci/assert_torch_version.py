"""Fail unless the installed torch is the version a tox environment promises.

Usage: python .ci/assert_torch_version.py 2.4.1
A matrix that silently tests the same torch twice is worse than none.
"""

from __future__ import annotations

import sys

import torch

expected = sys.argv[1] if len(sys.argv) > 1 else ""
installed = torch.__version__.split("+", 1)[0]
if not expected:
    sys.exit("usage: assert_torch_version.py EXPECTED_VERSION")
if installed != expected:
    sys.exit(f"torch {torch.__version__} is installed, but this environment promises {expected}")
print(f"torch {torch.__version__} (expected {expected}): ok")
