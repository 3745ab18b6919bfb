"""The dependency rule of ARCHITECTURE.md, kept true: every module's imports are read (with ``ast``, nothing is
executed) and each edge between the project's packages must be one the rule allows. Imports hidden inside
functions are refused in the domain packages: a cycle must be broken by the layout, not dodged at run time."""

import ast
import pathlib

import pytest

ROOT = pathlib.Path(__file__).resolve().parent.parent

# Package -> the packages it may import (besides itself). Bottom first; nothing imports upward.
RULE = {
    "calendar_sync.google": set(),
    "calendar_sync.encryption": set(),
    "controlhub.tenancy": {"calendar_sync.google", "calendar_sync.encryption"},
    "controlhub.domains": {"controlhub.people", "controlhub.tenancy"},
    "controlhub.onboarding": {"controlhub.tenancy", "calendar_sync.google", "calendar_sync.encryption"},
    "calendar_sync.sync": {"controlhub.tenancy", "calendar_sync.google", "calendar_sync.encryption"},
    "calendar_sync.scheduling": {"calendar_sync.sync", "controlhub.tenancy", "calendar_sync.google",
                                 "calendar_sync.encryption"},
    "controlhub.people": {"controlhub.onboarding", "calendar_sync.sync", "controlhub.tenancy", "calendar_sync.google",
                          "calendar_sync.encryption"},
    "calendar_sync.presence": {"controlhub.people", "calendar_sync.sync", "controlhub.tenancy",
                               "calendar_sync.google"},
    "calendar_sync.meetings": {"calendar_sync.presence", "controlhub.people", "calendar_sync.sync",
                               "controlhub.tenancy", "calendar_sync.encryption"},
    "calendar_sync.workspaces": {"calendar_sync.sync", "controlhub.tenancy", "calendar_sync.google",
                                 "calendar_sync.encryption"},
}
# The shells that wire the packages together (settings, URLs, app configs, Django's model registries, the admin,
# management commands, the dashboard, warm-up, key rotation, schedules) may import any package; no package may
# import a shell module.
SHELLS = ("controlhub", "calendar_sync")
EMULATORS = ("google_emulator", "webex_emulator", "bbb_emulator")
PROJECT = (*SHELLS, *EMULATORS, "demo", "bench", "tests")


def _module_name(path):
    parts = path.relative_to(ROOT).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _package_of(module):
    """The rule's package a module belongs to, or None for a shell module."""
    for package in sorted(RULE, key=len, reverse=True):
        if module == package or module.startswith(package + "."):
            return package
    return None


def _imports(path):
    """(imported module, line, inside a function?) for every import of a project module in ``path``."""
    tree = ast.parse(path.read_text(), filename=str(path))
    module = _module_name(path)
    found = []

    def visit(node, in_function):
        for child in ast.iter_child_nodes(node):
            nested = in_function or isinstance(child, ast.FunctionDef | ast.AsyncFunctionDef)
            if isinstance(child, ast.Import):
                found.extend((alias.name, child.lineno, in_function) for alias in child.names)
            elif isinstance(child, ast.ImportFrom):
                if child.level:
                    base = module.rsplit(".", child.level - (1 if path.name == "__init__.py" else 0))[0]
                    name = f"{base}.{child.module}" if child.module else base
                else:
                    name = child.module or ""
                found.append((name, child.lineno, in_function))
                found.extend((f"{name}.{alias.name}", child.lineno, in_function) for alias in child.names)
            visit(child, nested)

    visit(tree, False)
    return [(name, line, inside) for name, line, inside in found if name.split(".")[0] in PROJECT]


def _sources(*tops):
    for top in tops:
        for path in sorted((ROOT / top).rglob("*.py")):
            if "migrations" not in path.parts:
                yield path


def _existing(name):
    """``name`` if it is a module or package of the tree, else its parent (``from pkg import function``)."""
    parts = name.split(".")
    while parts:
        candidate = ROOT.joinpath(*parts)
        if candidate.with_suffix(".py").exists() or (candidate / "__init__.py").exists():
            return ".".join(parts)
        parts.pop()
    return name


def violations(paths):
    out = []
    for path in paths:
        module = _module_name(path)
        top = module.split(".")[0]
        own = _package_of(module)
        for name, line, inside in _imports(path):
            target_top = name.split(".")[0]
            where = f"{path.relative_to(ROOT)}:{line} imports {name}"
            if top in EMULATORS:
                if target_top != top:
                    out.append(f"{where} (an emulator imports nothing of the project)")
                continue
            if own is None:
                continue  # a shell: wires everything
            target = _package_of(_existing(name))
            if target is None and target_top in SHELLS and _existing(name) not in SHELLS:
                out.append(f"{where} (a package never imports a shell module)")
            elif target is not None and target != own and target not in RULE[own]:
                out.append(f"{where} ({own} may not import {target})")
            elif inside and target is not None and target != own:
                out.append(f"{where} inside a function (a cycle dodged at run time)")
    return out


def test_every_import_follows_the_dependency_rule():
    assert violations(_sources("controlhub", "calendar_sync", *EMULATORS)) == []


def test_the_rule_catches_a_forbidden_edge(tmp_path, monkeypatch):
    """The check itself: an upward import written into a leaf is reported (proves the test can fail)."""
    leaf = ROOT / "calendar_sync" / "google" / "_probe_forbidden.py"
    leaf.write_text("from controlhub.people.models import Person  # noqa\n")
    try:
        found = violations([leaf])
    finally:
        leaf.unlink()
    assert found and "calendar_sync.google may not import controlhub.people" in found[0]


@pytest.mark.parametrize("package", sorted(RULE))
def test_every_package_says_what_it_holds_and_may_import(package):
    init = ROOT.joinpath(*package.split(".")) / "__init__.py"
    doc = ast.get_docstring(ast.parse(init.read_text())) or ""
    assert len(doc) > 80 and "import" in doc, f"{package}/__init__.py needs its one-paragraph docstring"
