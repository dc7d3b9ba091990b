"""The sync generator keeps names that only annotations use out of import time."""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "tools"))

import generate_sync

SOURCE = """\
from __future__ import annotations

from infisical_async._keeper import HeldLease, LeaseKeeper
from infisical_async._ttl import TTLInput
from infisical_sync._runner import PortalRunner

DEFAULT = LeaseKeeper


class Leases:
    def __init__(self, runner: PortalRunner) -> None:
        self._runner = runner

    def keep(self, ttl: TTLInput = DEFAULT) -> HeldLease:
        return self._runner.call(ttl)
"""


def test_names_only_annotations_use_move_under_type_checking() -> None:
    out = generate_sync.typing_only_imports(SOURCE)
    head, _, guarded = out.partition("if TYPE_CHECKING:\n")
    assert "from infisical_async._keeper import LeaseKeeper\n" in head  # used at run time
    assert "from infisical_async._ttl" not in head and "_runner" not in head
    assert "    from infisical_async._keeper import HeldLease\n" in guarded
    assert "    from infisical_async._ttl import TTLInput\n" in guarded
    assert "    from infisical_sync._runner import PortalRunner\n" in guarded
    compile(out, "<generated>", "exec")


def test_a_module_whose_imports_all_run_is_left_as_it_is() -> None:
    source = "from __future__ import annotations\n\nfrom os import sep\n\nX = sep\n"
    assert generate_sync.typing_only_imports(source) == source
