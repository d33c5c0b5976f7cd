"""Read a parsed TOML document with the dotted key path at hand, so every check can fail with one
line naming the file, the key and what was expected: `f.toml: pages[1].id: expected a string`."""

from __future__ import annotations

import builtins
import difflib
from collections.abc import Iterable
from typing import Any

__all__ = ["MISSING", "TomlError", "TomlReader"]

MISSING = object()


class TomlError(ValueError):
    """A file that cannot be used; str() is one line: file, key, what was expected."""

    def __init__(self, source: str, key: str, expected: str, said: str | None = None) -> None:
        self.source, self.key, self.expected = source, key, expected
        super().__init__(_printable(f"{source}: {key}: {said or 'expected ' + expected}"))


def _printable(text: str) -> str:
    """Keys come from the file: a key with a newline in it must not break the one-line promise."""
    return "".join(c if c.isprintable() else repr(c)[1:-1] for c in text)


class TomlReader:
    error: type[TomlError] = TomlError

    def __init__(self, source: str, data: Any, path: str = "", error: type[TomlError] | None = None) -> None:
        self.source, self.data, self.path = source, data, path
        if error is not None:
            self.error = error

    def fail(self, key: str, expected: str) -> TomlError:
        return self.error(self.source, self._join(key), expected)

    def only(self, known: Iterable[str], note: str = "") -> None:
        """Refuse the first key that is not `known`: a misspelt key silently ignored would run
        with the default instead (`concurency = 4` running 10). Names the closest known key."""
        if not isinstance(self.data, dict):
            raise self.fail("", "a table")
        names = list(known)
        for key in self.data:
            if key not in names:
                close = difflib.get_close_matches(key, names, n=1, cutoff=0.6)
                hint = f"did you mean {close[0]}?" if close else f"known keys: {', '.join(names) or 'none'}"
                raise self.error(self.source, self._join(key), f"one of the known keys ({', '.join(names)})",
                                 said=f"unknown key{note} ({hint})")

    def _join(self, key: str) -> str:
        if not key:
            return self.path or "<top>"
        return f"{self.path}.{key}" if self.path and not key.startswith("[") else f"{self.path}{key}"

    def _get(self, key: str, default: Any) -> Any:
        if not isinstance(self.data, dict):
            raise self.fail("", "a table")
        value = self.data.get(key, MISSING)
        if value is MISSING:
            if default is MISSING:
                raise self.fail(key, "a value (the key is required)")
            return default
        return value

    def table(self, key: str, required: bool = False) -> TomlReader:
        value = self._get(key, MISSING if required else {})
        if not isinstance(value, dict):
            raise self.fail(key, "a table")
        return TomlReader(self.source, value, self._join(key), self.error)

    def tables(self, key: str, required: bool = True) -> list[TomlReader]:
        value = self._get(key, MISSING if required else [])
        if not isinstance(value, list) or (required and not value):
            raise self.fail(key, "a non-empty array of tables")
        out = []
        for i, item in enumerate(value):
            if not isinstance(item, dict):
                raise self.fail(f"{key}[{i}]", "a table")
            out.append(TomlReader(self.source, item, f"{self._join(key)}[{i}]", self.error))
        return out

    def int(self, key: str, default: Any = MISSING, minimum: int | None = None) -> Any:
        value = self._get(key, default)
        if value is default and default is not MISSING:
            return value
        if not isinstance(value, int) or isinstance(value, bool):
            raise self.fail(key, f"an integer (got {value!r})")
        if minimum is not None and value < minimum:
            raise self.fail(key, f"an integer >= {minimum} (got {value})")
        return value

    def number(self, key: str, default: Any = MISSING) -> Any:
        value = self._get(key, default)
        if value is default and default is not MISSING:
            return value
        if not isinstance(value, (int, float)) or isinstance(value, bool):
            raise self.fail(key, f"a number (got {value!r})")
        return float(value)

    def bool(self, key: str, default: bool) -> bool:
        value = self._get(key, default)
        if not isinstance(value, bool):
            raise self.fail(key, f"true or false (got {value!r})")
        return value

    def str(self, key: str, default: Any = MISSING, choices: tuple[str, ...] | None = None) -> Any:
        value = self._get(key, default)
        if value is default and default is not MISSING:
            return value
        if not isinstance(value, str) or not value:
            raise self.fail(key, f"a non-empty string (got {value!r})")
        if choices is not None and value not in choices:
            raise self.fail(key, f"one of {', '.join(choices)} (got {value!r})")
        return value

    # From here on `str` in this class body is the method above; annotations say builtins.str.
    def text(self, key: builtins.str, languages: tuple[builtins.str, ...],
             default: Any = MISSING) -> dict[builtins.str, builtins.str]:
        """A text is a string (same in every language) or a table with one string per language."""
        value = self._get(key, default)
        if isinstance(value, str):
            return {lang: value for lang in languages}
        if isinstance(value, dict):
            missing = [lang for lang in languages if not isinstance(value.get(lang), str)]
            if missing:
                raise self.fail(key, f"a text for every survey language (missing {', '.join(missing)})")
            self.table(key).only(languages, note=", not a survey language")
            return {lang: value[lang] for lang in languages}
        raise self.fail(key, f"a string or a table of language = string (got {value!r})")

    def ints(self, key: builtins.str, default: Any = MISSING) -> Any:
        value = self._get(key, default)
        if value is default and default is not MISSING:
            return value
        if not isinstance(value, list) or not value or not all(
            isinstance(v, int) and not isinstance(v, bool) for v in value
        ):
            raise self.fail(key, f"a non-empty array of integers (got {value!r})")
        return value
