"""``hub connector new``: a new connector package, ready to install, test and grow.

The package is written from the templates in ``hub/scaffold_templates`` (``string.Template``
placeholders such as ``${name}``). It holds a config model, one stream on a paginator and a
watermark, a mapping file, a sandbox built on :mod:`hub.sandbox`, the plugin registering all
three, and a test running :class:`hub.testing.contract.ConnectorContract` against the sandbox.
It is written to a temporary folder beside the target and moved into place when complete, so
a failure leaves nothing half-written behind.
"""

from __future__ import annotations

import keyword
import os
import re
import shutil
import tempfile
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from string import Template

from hub.errors import ConfigError
from hub.plugins import connectors

NAME_PATTERN = re.compile(r"[a-z][a-z0-9]*(?:_[a-z0-9]+)*")
MAX_NAME_LENGTH = 32

# Template file -> where it goes in the package; ``{package}`` and ``{name}`` are filled in.
LAYOUT: dict[str, str] = {
    "pyproject.toml.tmpl": "pyproject.toml",
    "README.md.tmpl": "README.md",
    "gitignore.tmpl": ".gitignore",
    "package_init.py.tmpl": "{package}/__init__.py",
    "config.py.tmpl": "{package}/config.py",
    "connector.py.tmpl": "{package}/connector.py",
    "sandbox.py.tmpl": "{package}/sandbox.py",
    "plugin.py.tmpl": "{package}/plugin.py",
    "mapping.yaml.tmpl": "{package}/mappings/{name}.yaml",
    "test_contract.py.tmpl": "tests/test_contract.py",
}
EMPTY_FILES = ("{package}/py.typed",)


@dataclass(frozen=True)
class ScaffoldedPackage:
    """A generated connector package: where it is and what was written (relative paths)."""

    name: str
    distribution: str
    root: Path
    files: tuple[str, ...]


def check_connector_name(name: str) -> None:
    """Raise ConfigError saying what is wrong unless ``name`` can name a connector: lower
    case letters and digits in words joined by single underscores, starting with a letter,
    not a Python keyword and not the name of an installed connector."""
    if not name:
        raise ConfigError("connector name is empty; give one such as acme or acme_crm")
    if len(name) > MAX_NAME_LENGTH:
        raise ConfigError(f"connector name {name!r} is longer than {MAX_NAME_LENGTH} characters")
    if not NAME_PATTERN.fullmatch(name):
        raise ConfigError(f"connector name {name!r}: {_name_problem(name)}")
    if keyword.iskeyword(name):
        raise ConfigError(f"connector name {name!r} is a Python keyword; choose another")
    if name in connectors():
        raise ConfigError(f"a connector named {name!r} is already installed; choose another name")


def _name_problem(name: str) -> str:
    if name != name.lower():
        return f"use lower case only ({name.lower()!r})"
    if not name[0].isalpha():
        return "it must start with a letter"
    bad = sorted({c for c in name if not (c.isascii() and (c.isalnum() or c == "_"))})
    if bad:
        return f"only a-z, 0-9 and _ are allowed, not {' '.join(map(repr, bad))}"
    return "underscores may only join words (no leading, trailing or double underscore)"


def new_connector(name: str, directory: Path) -> ScaffoldedPackage:
    """Write the package ``hub-connector-<name>`` into ``directory/<name>``; ConfigError when
    the name is unusable or that folder already exists (it is never overwritten)."""
    check_connector_name(name)
    target = directory / name
    if target.exists() or target.is_symlink():
        raise ConfigError(f"{target} already exists; remove it or choose another --dir")
    values = template_values(name)
    directory.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{name}-", dir=directory))
    try:
        written = _write_package(staging, values)
        staging.chmod(0o777 & ~_umask())  # mkdtemp's folder is private to its owner
        staging.rename(target)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    return ScaffoldedPackage(name, values["dist"], target, tuple(written))


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def template_values(name: str) -> dict[str, str]:
    """What the templates' placeholders stand for, for connector ``name``."""
    words = name.split("_")
    return {
        "name": name,
        "package": f"hub_{name}",
        "dist": f"hub-connector-{name.replace('_', '-')}",
        "cls": "".join(word.capitalize() for word in words),
        "upper": name.upper(),
        "title": " ".join(word.capitalize() for word in words),
    }


def _write_package(root: Path, values: dict[str, str]) -> list[str]:
    templates = resources.files("hub").joinpath("scaffold_templates")
    written: list[str] = []
    for template, where in LAYOUT.items():
        text = Template(templates.joinpath(template).read_text(encoding="utf-8"))
        written.append(_write(root, where.format(**values), text.substitute(values)))
    for where in EMPTY_FILES:
        written.append(_write(root, where.format(**values), ""))
    return written


def _write(root: Path, relative: str, text: str) -> str:
    path = root / relative
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return relative
