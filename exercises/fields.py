"""Strict reading of parsed data files (a TOML or JSON document as dicts and lists).

`Fields` wraps one table of the document with its key path, so every problem raises the
caller's error class with the source, the path and what was expected: the valid keys
or names where the set is closed, the type and value that were found otherwise.

    top = Fields.root(tomllib.loads(text), "plans/fall_prevention.toml", PlanError)
    top.check_keys(allowed=("schema", "id", ...), required=("schema", "id"))
    sets = top.table("dose").integer("sets", minimum=1)
    # PlanError: plans/fall_prevention.toml: dose.sets: expected an integer >= 1,
    #            got a string ('two')

Core module: stdlib only; it reads no files.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping
from typing import Any

from exercises import checks
from exercises.checks import ID_PATTERN, LANGUAGES, describe, join_path, names
from exercises.events import LocalizedText

__all__ = ["ID_PATTERN", "LANGUAGES", "Fields", "describe", "join_path"]


class Fields:
    """One table of a parsed document, read key by key with exact error messages.

    Args:
        data: The table.
        source: Where the document came from (a file name, "<memory>").
        path: Key path of this table in the document ("" for the top).
        error: Exception class raised for every problem (a `ValueError` subclass).
    """

    __slots__ = ("data", "error", "path", "source")

    def __init__(
        self,
        data: Mapping[str, Any],
        source: str,
        path: str,
        error: type[ValueError],
    ) -> None:
        self.data = data
        self.source = source
        self.path = path
        self.error = error

    @classmethod
    def root(cls, data: Any, source: str, error: type[ValueError]) -> Fields:
        """The top table of a document; raises `error` if it is not a table."""
        if not isinstance(data, Mapping):
            raise error(f"{source}: expected a table at the top, got {describe(data)}")
        return cls(data, source, "", error)

    # --- errors and keys ------------------------------------------------------------

    def fail(self, key: str | int | None, message: str) -> ValueError:
        """The error for `key` of this table (None: the table itself)."""
        path = self.path if key is None else join_path(self.path, key)
        where = f"{self.source}: {path}" if path else self.source
        return self.error(f"{where}: {message}")

    def check_keys(self, allowed: Iterable[str], required: Iterable[str] = ()) -> None:
        """Unknown keys and missing required keys are errors naming the valid keys."""
        valid = tuple(allowed)
        for key in self.data:
            if key not in valid:
                raise self.fail(key, f"unknown key; valid keys: {names(valid)}")
        for key in required:
            if key not in self.data:
                raise self.fail(key, "missing required key")

    def has(self, key: str) -> bool:
        """Whether the key is present."""
        return key in self.data

    def raw(self, key: str) -> Any:
        """The value as parsed; missing is an error."""
        if key not in self.data:
            raise self.fail(key, "missing required key")
        return self.data[key]

    # --- nested tables --------------------------------------------------------------

    def table(self, key: str) -> Fields:
        """A nested table."""
        value = self.raw(key)
        if not isinstance(value, Mapping):
            raise self.fail(key, f"expected a table, got {describe(value)}")
        return Fields(value, self.source, join_path(self.path, key), self.error)

    def array(self, key: str, *, min_items: int = 0) -> list[Any]:
        """An array with at least `min_items` entries."""
        value = self.raw(key)
        if not isinstance(value, list | tuple):
            raise self.fail(key, f"expected an array, got {describe(value)}")
        if len(value) < min_items:
            raise self.fail(
                key, f"expected at least {min_items} entries, got {len(value)}"
            )
        return list(value)

    def tables(self, key: str, *, min_items: int = 0) -> list[Fields]:
        """An array of tables (`[[key]]` in TOML)."""
        out = []
        for i, value in enumerate(self.array(key, min_items=min_items)):
            path = join_path(join_path(self.path, key), i)
            if not isinstance(value, Mapping):
                raise self.error(
                    f"{self.source}: {path}: expected a table, got {describe(value)}"
                )
            out.append(Fields(value, self.source, path, self.error))
        return out

    # --- scalars --------------------------------------------------------------------

    def _value(self, key: str) -> tuple[checks.Context, str, Any]:
        """The checks' context, the key's path and its value (missing is an error)."""
        value = self.raw(key)
        return checks.Context(self.source, self.error), join_path(self.path, key), value

    def string(self, key: str) -> str:
        """A non-empty string."""
        return checks.string(*self._value(key))

    def ident(self, key: str) -> str:
        """An id of lowercase letters, digits and _ starting with a letter."""
        return checks.ident(*self._value(key))

    def choice(self, key: str, valid: Iterable[str]) -> str:
        """One of a closed set of names."""
        return checks.choice(*self._value(key), valid)

    def boolean(self, key: str) -> bool:
        """true or false."""
        value = self.raw(key)
        if not isinstance(value, bool):
            raise self.fail(key, f"expected true or false, got {describe(value)}")
        return value

    def integer(
        self, key: str, *, minimum: int | None = None, maximum: int | None = None
    ) -> int:
        """A whole number within the bounds (inclusive)."""
        value = self.raw(key)
        if isinstance(value, bool) or not isinstance(value, int):
            raise self.fail(key, f"expected an integer, got {describe(value)}")
        self._check_bounds(key, value, minimum, maximum, "an integer")
        return int(value)

    def number(
        self,
        key: str,
        *,
        minimum: float | None = None,
        maximum: float | None = None,
        positive: bool = False,
    ) -> float:
        """A finite number within the bounds (inclusive; `positive`: above 0)."""
        x = checks.number(*self._value(key), positive=positive)
        self._check_bounds(key, x, minimum, maximum, "a number")
        return x

    def _check_bounds(
        self,
        key: str,
        value: float,
        minimum: float | None,
        maximum: float | None,
        kind: str,
    ) -> None:
        if minimum is not None and maximum is not None:
            if not minimum <= value <= maximum:
                raise self.fail(
                    key, f"expected {kind} from {minimum} to {maximum}, got {value!r}"
                )
        elif minimum is not None and value < minimum:
            raise self.fail(key, f"expected {kind} >= {minimum}, got {value!r}")
        elif maximum is not None and value > maximum:
            raise self.fail(key, f"expected {kind} <= {maximum}, got {value!r}")

    def date(self, key: str) -> dt.date:
        """A calendar date: a TOML date or an ISO 8601 string ("2025-03-03")."""
        value = self.raw(key)
        if isinstance(value, dt.datetime):
            raise self.fail(key, f"expected a date without a time, got {value!r}")
        if isinstance(value, dt.date):
            return value
        if isinstance(value, str):
            try:
                return dt.date.fromisoformat(value)
            except ValueError:
                pass
        raise self.fail(key, f"expected a date (YYYY-MM-DD), got {describe(value)}")

    def strings(self, key: str, *, min_items: int = 0) -> list[str]:
        """An array of non-empty strings."""
        out = []
        for i, value in enumerate(self.array(key, min_items=min_items)):
            if not isinstance(value, str) or not value.strip():
                raise self.fail(
                    key,
                    f"entry {i}: expected a non-empty string, got {describe(value)}",
                )
            out.append(value)
        return out

    def text(self, key: str, *, both: bool = True) -> LocalizedText:
        """Text by language: both en and zh-CN (`both=False`: at least one)."""
        return self.table(key).text_of(both=both)

    def texts(self, key: str, *, both: bool = True) -> tuple[LocalizedText, ...]:
        """An array of texts by language."""
        return tuple(t.text_of(both=both) for t in self.tables(key))

    def text_of(self, *, both: bool = True) -> LocalizedText:
        """This table read as text by language."""
        self.check_keys(LANGUAGES, LANGUAGES if both else ())
        if not self.data:
            raise self.fail(None, f"expected text in {names(LANGUAGES)}, got none")
        return {lang: self.string(lang) for lang in LANGUAGES if self.has(lang)}
