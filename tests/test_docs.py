"""Docstrings render as Markdown in the docs: no raw Sphinx roles may leak into them; the
docs name the errors the code raises."""

from __future__ import annotations

import ast
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
ROLE = re.compile(r":(meth|class|func|attr|mod|exc|data|obj|ref|py:\w+):`")


def test_no_sphinx_roles_in_docstrings() -> None:
    leaks = []
    for package in ("infisical_async", "infisical_sync"):
        for path in sorted((ROOT / package).rglob("*.py")):
            tree = ast.parse(path.read_text(), filename=str(path))
            for node in ast.walk(tree):
                is_text = isinstance(node, ast.Constant) and isinstance(node.value, str)
                if is_text and ROLE.search(node.value):
                    leaks.append(f"{path.relative_to(ROOT)}:{node.lineno}")
    assert leaks == []


def test_every_guide_page_is_in_the_nav() -> None:
    nav = (ROOT / "mkdocs.yml").read_text()
    for page in sorted((ROOT / "docs").rglob("*.md")):
        assert str(page.relative_to(ROOT / "docs")) in nav, page


def test_the_docs_name_the_error_a_forked_child_gets() -> None:
    # A client used after a fork raises ClientForkedError (see tests/client/test_fork.py).
    wrong = []
    for page in [ROOT / "README.md", *sorted((ROOT / "docs").rglob("*.md"))]:
        for paragraph in re.split(r"\n\s*\n", page.read_text()):
            if "fork" in paragraph.lower() and "ClientClosedError" in paragraph:
                wrong.append(f"{page.relative_to(ROOT)}: {paragraph.strip()[:60]}...")
    assert wrong == []
