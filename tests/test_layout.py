"""The tests mirror the package: each module of course_lib has a test file of its name at the same place."""

import pathlib

ROOT = pathlib.Path(__file__).resolve().parents[1]


def test_every_module_has_its_test_file():
    missing = []
    for module in sorted((ROOT / "course_lib").rglob("*.py")):
        if module.name in ("__init__.py", "__main__.py"):
            continue
        rel = module.relative_to(ROOT / "course_lib")
        test = ROOT / "tests" / rel.parent / f"test_{rel.name.lstrip('_')}"
        if not test.exists():
            missing.append(f"{rel} -> {test.relative_to(ROOT)}")
    assert not missing, "modules without a test file of their name:\n" + "\n".join(missing)
