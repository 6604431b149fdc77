"""Build-time check of the image: every package of the source tree imports from the installed project.

pyproject.toml lists its packages one by one. A subpackage missing from that list still installs without a
word, and the image then fails only at run time (a worker dying on `import servicepulse.streams.<sub>`), which
an editable install in a developer's virtualenv never shows. The Dockerfile runs this after `pip install`:

    python verify_installed.py /path/to/source-tree

It must not run from inside the source tree, or the sources themselves would satisfy the imports.
"""

from __future__ import annotations

import importlib
import sys
import tomllib
from pathlib import Path


def source_packages(src: Path) -> list[str]:
    setuptools = tomllib.loads((src / "pyproject.toml").read_text(encoding="utf-8"))["tool"]["setuptools"]
    names = set(setuptools.get("packages", []))
    for package, folder in setuptools.get("package-dir", {}).items():
        root = src / folder
        for init in root.rglob("__init__.py"):
            names.add(".".join((package, *init.parent.relative_to(root).parts)))
    return sorted(names)


def main(argv: list[str]) -> int:
    src = Path(argv[1] if len(argv) > 1 else ".").resolve()
    failed = []
    for name in source_packages(src):
        try:
            module = importlib.import_module(name)
        except ImportError as exc:
            failed.append(f"{name}: {exc}")
            continue
        if Path(module.__file__ or "").resolve().is_relative_to(src):
            failed.append(f"{name}: imported from the source tree, not from the installed project")
    for line in failed:
        print(f"not installed: {line}", file=sys.stderr)
    if failed:
        print("add the missing packages to [tool.setuptools] packages in pyproject.toml", file=sys.stderr)
        return 1
    print(f"all {len(source_packages(src))} packages import from the installed project")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
