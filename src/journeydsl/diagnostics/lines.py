"""Split source text into lines the way the parser that made the spans counted them.

Lark counts only `\\n`; PyYAML also breaks lines at `\\r`, `\\x85`, `\\u2028` and `\\u2029`.
`str.splitlines()` agrees with neither, so caret lines would drift on such input.
"""

from __future__ import annotations

import re

_YAML_BREAK = re.compile("\r\n|[\r\n\x85\u2028\u2029]")


def source_lines(text: str, path: str) -> list[str]:
    if path.endswith((".yaml", ".yml")):
        return _YAML_BREAK.split(text)
    return [line.removesuffix("\r") for line in text.split("\n")]
