"""Loading the YAML file: every problem is reported as `FILE: path (line N): what is wrong`."""

from __future__ import annotations

import os
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError

from bridge.config.models import Config

_ENV_REF = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)(?::-([^}]*))?\}")


@dataclass(frozen=True, slots=True)
class Problem:
    path: str
    message: str
    line: int | None = None

    def format(self, file: str) -> str:
        if self.line:
            where = f"{self.path} (line {self.line})" if self.path else f"line {self.line}"
        else:
            where = self.path
        return f"{file}: {where}: {self.message}" if where else f"{file}: {self.message}"


class ConfigError(Exception):
    """Raised with every problem found, so an operator fixes the file in one pass."""

    def __init__(self, file: str, problems: list[Problem]) -> None:
        self.file = file
        self.problems = problems
        super().__init__("\n".join(p.format(file) for p in problems))

    def lines(self) -> list[str]:
        return [p.format(self.file) for p in self.problems]


def render_path(loc: Iterable[str | int]) -> str:
    out = ""
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += f".{part}" if out else str(part)
    return out


def _line_index(text: str) -> dict[tuple, int]:
    """Maps each YAML path (tuple of keys and indexes) to its 1-based line number."""
    index: dict[tuple, int] = {}
    try:
        root = yaml.compose(text, Loader=yaml.SafeLoader)
    except yaml.YAMLError:
        return index

    def walk(node: yaml.Node, path: tuple) -> None:
        index[path] = node.start_mark.line + 1
        if isinstance(node, yaml.MappingNode):
            for key, value in node.value:
                k = key.value
                index[(*path, k)] = key.start_mark.line + 1
                walk(value, (*path, k))
        elif isinstance(node, yaml.SequenceNode):
            for i, item in enumerate(node.value):
                walk(item, (*path, i))

    if root is not None:
        walk(root, ())
    return index


def _resolve_env(data: Any, env: dict[str, str], path: tuple, problems: list[Problem]) -> Any:
    if isinstance(data, dict):
        return {k: _resolve_env(v, env, (*path, k), problems) for k, v in data.items()}
    if isinstance(data, list):
        return [_resolve_env(v, env, (*path, i), problems) for i, v in enumerate(data)]
    if isinstance(data, str):

        def sub(m: re.Match[str]) -> str:
            name, default = m.group(1), m.group(2)
            if name not in env and default is not None:
                return default
            if name not in env:
                problems.append(
                    Problem(render_path(path), f"environment variable {name} is not set")
                )
                # keep the reference, so validators do not add "needs a token" to this problem
                return m.group(0)
            return env[name]

        return _ENV_REF.sub(sub, data)
    return data


def _pydantic_problems(err: ValidationError) -> list[Problem]:
    problems = []
    for e in err.errors():
        loc = [p for p in e["loc"] if not (isinstance(p, str) and p.startswith("function-"))]
        # pydantic adds the union member or validator name to the location; drop those parts
        loc = [p for p in loc if p not in ("str", "int", "float", "bool")]
        msg = e["msg"]
        if e["type"] == "extra_forbidden":
            msg = "unknown key"
        elif e["type"] == "missing":
            msg = "required key is missing"
        msg = msg.removeprefix("Value error, ").removeprefix("Assertion failed, ")
        problems.append(Problem(render_path(loc), msg))
    return problems


def _references(cfg: Config) -> list[Problem]:
    """Cross-references pydantic cannot see: every name used must be declared, once."""
    problems: list[Problem] = []

    def dupes(items: list, what: str, key: Callable[[Any], str], section: str) -> None:
        seen: set[str] = set()
        for i, item in enumerate(items):
            k = key(item)
            if k in seen:
                problems.append(Problem(f"{section}[{i}].{what}", f"duplicate {what} '{k}'"))
            seen.add(k)

    def known(names: Iterable[str]) -> str:
        return ", ".join(sorted(names)) or "none declared"

    dupes(cfg.customers, "id", lambda c: c.id, "customers")
    dupes(cfg.customers, "contract", lambda c: c.contract, "customers")
    dupes(cfg.devices, "id", lambda d: d.id, "devices")
    dupes(cfg.sources, "name", lambda s: s.name, "sources")
    dupes(cfg.api_tokens, "name", lambda t: t.name, "api_tokens")
    dupes(cfg.api_tokens, "token", lambda t: t.token, "api_tokens")

    for name, policy in cfg.sla_policies.items():
        for prio, targets in policy.priorities.items():
            if targets.calendar not in cfg.calendars:
                problems.append(
                    Problem(
                        f"sla_policies.{name}.priorities.{prio.value}.calendar",
                        f"unknown calendar '{targets.calendar}' (known: {known(cfg.calendars)})",
                    )
                )
    customer_ids = {c.id for c in cfg.customers}
    for i, c in enumerate(cfg.customers):
        if c.sla_policy not in cfg.sla_policies:
            problems.append(
                Problem(
                    f"customers[{i}].sla_policy",
                    f"unknown SLA policy '{c.sla_policy}' (known: {known(cfg.sla_policies)})",
                )
            )
    devices: dict[str, Any] = {}
    for d in cfg.devices:  # the first of duplicate ids wins; the duplicate is reported above
        devices.setdefault(d.id, d)
    for i, d in enumerate(cfg.devices):
        if d.customer not in customer_ids:
            problems.append(
                Problem(
                    f"devices[{i}].customer",
                    f"unknown customer '{d.customer}' (known: {known(customer_ids)})",
                )
            )
        if d.depends_on is not None:
            parent = devices.get(d.depends_on)
            if parent is None:
                problems.append(
                    Problem(f"devices[{i}].depends_on", f"unknown device '{d.depends_on}'")
                )
            elif parent.id == d.id:
                problems.append(
                    Problem(f"devices[{i}].depends_on", "a device cannot depend on itself")
                )
    for i, d in enumerate(cfg.devices):
        if d.depends_on == d.id:
            continue  # reported above
        chain, cur = [d.id], d.depends_on
        while cur in devices:
            if cur == d.id:
                cycle = " -> ".join([*chain, cur])
                problems.append(Problem(f"devices[{i}].depends_on", f"dependency cycle: {cycle}"))
                break
            if cur in chain:
                break  # leads into a cycle, which is reported on the devices in it
            chain.append(cur)
            cur = devices[cur].depends_on

    from bridge.sources import SOURCE_TYPES  # registry; imported late to keep config light

    for i, s in enumerate(cfg.sources):
        if s.type not in SOURCE_TYPES:
            problems.append(
                Problem(
                    f"sources[{i}].type",
                    f"unknown webhook source type '{s.type}' (known: {known(SOURCE_TYPES)})",
                )
            )
        for j, rule in enumerate(s.routing):
            if rule.to == "customer" and rule.map:
                for value, cust in rule.map.items():
                    if cust not in customer_ids:
                        problems.append(
                            Problem(
                                f"sources[{i}].routing[{j}].map.{value}",
                                f"unknown customer '{cust}'",
                            )
                        )
    for i, m in enumerate(cfg.maintenance):
        if m.device is not None and m.device not in devices:
            problems.append(Problem(f"maintenance[{i}].device", f"unknown device '{m.device}'"))
        if m.customer is not None and m.customer not in customer_ids:
            problems.append(
                Problem(f"maintenance[{i}].customer", f"unknown customer '{m.customer}'")
            )
    for i, t in enumerate(cfg.api_tokens):
        if t.customer is not None and t.customer not in customer_ids:
            problems.append(
                Problem(f"api_tokens[{i}].customer", f"unknown customer '{t.customer}'")
            )
    return problems


def parse_config(text: str, file: str, env: dict[str, str] | None = None) -> Config:
    """Validate YAML text; raises ConfigError listing every problem with its path and line."""
    env = dict(os.environ) if env is None else env
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as err:
        mark = getattr(err, "problem_mark", None)
        problem = getattr(err, "problem", None) or str(err)
        raise ConfigError(
            file, [Problem("", f"not valid YAML: {problem}", mark.line + 1 if mark else None)]
        ) from err
    if not isinstance(data, dict):
        raise ConfigError(file, [Problem("", "the top level must be a mapping of sections")])
    lines = _line_index(text)
    problems: list[Problem] = []
    data = _resolve_env(data, env, (), problems)
    cfg: Config | None = None
    try:
        cfg = Config.model_validate(data)
    except ValidationError as err:
        problems.extend(_pydantic_problems(err))
    if cfg is not None and not problems:
        problems.extend(_references(cfg))
    if problems:
        located = [Problem(p.path, p.message, p.line or _lookup(lines, p.path)) for p in problems]
        raise ConfigError(file, located)
    assert cfg is not None
    return cfg


def _lookup(lines: dict[tuple, int], path: str) -> int | None:
    parts: list[str | int] = []
    for token in re.findall(r"[^.\[\]]+|\[\d+\]", path):
        parts.append(int(token[1:-1]) if token.startswith("[") else token)
    while parts:
        if tuple(parts) in lines:
            return lines[tuple(parts)]
        parts.pop()
    return None


def load_config(path: str | Path, env: dict[str, str] | None = None) -> Config:
    p = Path(path)
    try:
        text = p.read_text(encoding="utf-8")
    except OSError as err:
        raise ConfigError(str(p), [Problem("", f"cannot read: {err.strerror}")]) from err
    except UnicodeDecodeError as err:
        raise ConfigError(str(p), [Problem("", "not UTF-8 text")]) from err
    return parse_config(text, str(p), env)
