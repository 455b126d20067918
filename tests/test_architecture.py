"""The shape of the code: a ground floor both apps stand on, and one direction between the apps.

The floor is the domain said once (tests name it FLOOR): the vocabulary, the decision, the names,
the record layout and pseudonymization. It imports neither app, nor the project. `tenants` may import
the floor and nothing else of `telemetry`; the rest of `telemetry` builds on `tenants`. So no module
of one app imports the other app in both directions.
"""

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
FLOOR = frozenset(
    {
        "telemetry.vocabulary",
        "telemetry.policy",
        "telemetry.names",
        "telemetry.records",
        "telemetry.pseudonymize",
        "telemetry.scrub",
    }
)
FIRST_PARTY = ("portal", "tenants", "telemetry")


def module_name(path: Path) -> str:
    parts = path.relative_to(ROOT).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def modules_of(package: str) -> list[Path]:
    return sorted(path for path in (ROOT / package).rglob("*.py") if "migrations" not in path.parts)


def imported(path: Path) -> set[str]:
    """Every first-party module a file imports, at any depth of the file."""
    names = set()
    for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
            # `from telemetry import policy` imports the module telemetry.policy.
            names.update(f"{node.module}.{alias.name}" for alias in node.names)
    return {name for name in names if name.split(".")[0] in FIRST_PARTY and _is_module(name)}


def _is_module(name: str) -> bool:
    path = ROOT.joinpath(*name.split("."))
    return path.with_suffix(".py").exists() or (path / "__init__.py").exists()


def in_app(name: str, app: str) -> bool:
    return name == app or name.startswith(f"{app}.")


@pytest.mark.parametrize("name", sorted(FLOOR))
def test_the_floor_imports_only_the_floor(name):
    path = ROOT.joinpath(*name.split(".")).with_suffix(".py")
    outside = {module for module in imported(path) if module not in FLOOR and module != "telemetry"}
    assert outside == set(), f"{name} stands on {outside}"


@pytest.mark.parametrize("path", modules_of("tenants"), ids=module_name)
def test_tenants_import_nothing_of_telemetry_but_the_floor(path):
    above = {module for module in imported(path) if in_app(module, "telemetry") and module not in FLOOR}
    assert above == set(), f"{module_name(path)} imports {above}, which builds on tenants"


def test_the_checks_see_real_imports():
    """The checks above would pass on a parser that finds nothing: make sure it finds what is there."""
    assert "telemetry.policy" in imported(ROOT / "tenants" / "models.py")
    assert "tenants.models" in imported(ROOT / "telemetry" / "models.py")
    assert "telemetry.vocabulary" in imported(ROOT / "telemetry" / "policy.py")
