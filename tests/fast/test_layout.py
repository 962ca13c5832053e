"""The README's map of the code matches the folders, and every file path the README names exists."""

from __future__ import annotations

import re

from tests.helpers import ROOT

README = (ROOT / "README.md").read_text(encoding="utf-8")
MAP = README[README.index("### The code's map") : README.index("**One message, in the order of the folders:**")]


def test_every_package_and_module_of_bot_is_on_the_map():
    parts = [f"bot/{path.name}/" for path in (ROOT / "bot").iterdir() if (path / "__init__.py").exists()]
    parts += [f"bot/{path.name}" for path in (ROOT / "bot").glob("*.py") if path.name != "__init__.py"]
    missing = [part for part in parts if f"`{part}`" not in MAP]
    assert not missing, f"add these to the README's map: {missing}"


def test_every_path_the_readme_names_exists():
    named = set(re.findall(r"`((?:bot|actions|tests|content|locales|docs|bench|migrations)/[\w./<>-]*)`", README))
    made_by_bench = ("bench/out", "bench/results")  # written by make bench, not kept in git
    concrete = [path for path in named if "<" not in path and not path.startswith(made_by_bench)]
    assert len(concrete) > 20
    missing = sorted(path for path in concrete if not (ROOT / path).exists())
    assert not missing, f"the README names paths that do not exist: {missing}"
