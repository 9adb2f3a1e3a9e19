"""YAML parsing that remembers line numbers, so config errors can name file, line and field."""

from __future__ import annotations

from typing import Any

import yaml

from safeguard.errors import ConfigError


class LineDict(dict[str, Any]):
    """A mapping from YAML that knows the line of itself and of each key (1-based)."""

    line: int = 0
    key_lines: dict[str, int]

    def line_of(self, key: str) -> int:
        return self.key_lines.get(key, self.line)


class _LineLoader(yaml.SafeLoader):
    """SafeLoader whose mappings are `LineDict`s."""


def _construct_mapping(loader: _LineLoader, node: yaml.MappingNode) -> LineDict:
    loader.flatten_mapping(node)
    out = LineDict()
    out.line = node.start_mark.line + 1
    out.key_lines = {}
    for key_node, value_node in node.value:
        key = loader.construct_object(key_node, deep=True)
        if not isinstance(key, str):
            key = str(key)
        if key in out:
            raise ConfigError("duplicate key", line=key_node.start_mark.line + 1, field=key)
        out[key] = loader.construct_object(value_node, deep=True)
        out.key_lines[key] = key_node.start_mark.line + 1
    return out


_LineLoader.add_constructor(
    yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG,
    _construct_mapping,
)


def load_yaml(text: str, source: str) -> Any:
    """Parse YAML text; syntax errors become `ConfigError`s naming `source` and the line."""
    try:
        return yaml.load(text, Loader=_LineLoader)  # noqa: S506 - SafeLoader subclass
    except ConfigError as exc:
        raise ConfigError(exc.message, source=source, line=exc.line, field=exc.field) from exc
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = mark.line + 1 if mark is not None else None
        problem = getattr(exc, "problem", None) or str(exc)
        raise ConfigError(f"invalid YAML: {problem}", source=source, line=line) from exc


def require_mapping(value: Any, source: str, what: str, line: int | None = None) -> LineDict:
    """`value` as a LineDict, or a ConfigError saying what was expected."""
    if not isinstance(value, LineDict):
        raise ConfigError(f"{what} must be a mapping", source=source, line=line)
    return value
