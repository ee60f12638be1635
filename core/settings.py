"""A setting declared once: its default, meaning and valid values live on its dataclass field."""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import MISSING, Field, field, fields
from itertools import pairwise
from typing import Any


def setting(
    default: Any = MISSING,
    doc: str = "",
    *,
    factory: Callable[[], Any] | None = None,
    at_least: float | None = None,
    above: float | None = None,
    at_most: float | None = None,
    choices: Sequence[Any] | None = None,
    pattern: str | None = None,
    increasing: bool = False,
    expect: str | None = None,
    secret: str | None = None,
) -> Any:
    """A dataclass field whose metadata says what it means and which values it takes.

    Bounds apply to a number, or to every item of a tuple; `increasing` asks a tuple's items
    to rise strictly; `pattern` is matched in full against a string; `expect` replaces the
    generated description of the valid values; `secret` names the environment variable the
    value comes from (never from a file).
    """
    metadata = {
        "doc": doc,
        "at_least": at_least,
        "above": above,
        "at_most": at_most,
        "choices": tuple(choices) if choices is not None else None,
        "pattern": pattern,
        "increasing": increasing,
        "expect": expect,
        "secret": secret,
    }
    metadata = {
        key: value for key, value in metadata.items() if value is not None and value is not False
    }
    if factory is not None:
        return field(default_factory=factory, metadata=metadata)
    return field(default=default, metadata=metadata)


def expectation(spec: Field) -> str:
    """What `spec` accepts, in words ("between 0 and 0.3", "union or intersection")."""
    meta = spec.metadata
    if "expect" in meta:
        return meta["expect"]
    if "choices" in meta:
        words = [str(choice) for choice in meta["choices"]]
        return words[0] if len(words) == 1 else f"{', '.join(words[:-1])} or {words[-1]}"
    low, high = meta.get("at_least"), meta.get("at_most")
    above = meta.get("above")
    if low is not None and high is not None:
        return f"between {_number(low)} and {_number(high)}"
    if above is not None and high is not None:
        return f"more than {_number(above)} and at most {_number(high)}"
    if low is not None:
        return "zero or more" if low == 0 else f"at least {_number(low)}"
    if above is not None:
        return f"more than {_number(above)}"
    if high is not None:
        return f"at most {_number(high)}"
    return "a valid value"


def is_valid(spec: Field, value: Any) -> bool:
    """Whether `value` (already of the field's type) keeps to `spec`'s metadata."""
    meta = spec.metadata
    items = list(value) if isinstance(value, tuple) else [value]
    if isinstance(value, tuple) and not items:
        return False
    if "choices" in meta and value not in meta["choices"]:
        return False
    if "pattern" in meta and not re.fullmatch(meta["pattern"], value):
        return False
    if meta.get("increasing") and any(a >= b for a, b in pairwise(items)):
        return False
    low, above, high = meta.get("at_least"), meta.get("above"), meta.get("at_most")
    return all(
        (low is None or item >= low)
        and (above is None or item > above)
        and (high is None or item <= high)
        for item in items
    )


def check_settings(settings: Any, section: str) -> None:
    """Raise ValueError naming `section.key` for the first field out of its bounds."""
    for spec in fields(settings):
        value = getattr(settings, spec.name)
        if not is_valid(spec, value):
            raise ValueError(
                f"'{section}.{spec.name}' must be {expectation(spec)}, got {_shown(value)}"
            )


def _shown(value: Any) -> str:
    return repr(list(value)) if isinstance(value, tuple) else repr(value)


def _number(bound: float) -> str:
    return f"{bound:g}" if isinstance(bound, float) else str(bound)
