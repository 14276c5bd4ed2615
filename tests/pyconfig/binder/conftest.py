"""pyconfig/binder runs in BinderHub's own Python (.venv-binderhub; the main
virtualenv has the hub's packages, not BinderHub's): its tests run code
there, in a process."""

from __future__ import annotations

import json
import subprocess
from collections.abc import Callable
from typing import Any

import pytest

from tests.conftest import ROOT

BINDERHUB_PYTHON = ROOT / ".venv-binderhub" / "bin" / "python"


@pytest.fixture
def in_binderhub() -> Callable[[str, Any], Any]:
    """``run(code, payload)``: ``code`` in BinderHub's Python, with
    ``payload`` as JSON on its standard input; what it prints, as JSON."""

    def run(code: str, payload: Any) -> Any:
        result = subprocess.run(
            [str(BINDERHUB_PYTHON), "-c", code],
            input=json.dumps(payload),
            cwd=ROOT,
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert result.returncode == 0, result.stderr
        return json.loads(result.stdout)

    return run
