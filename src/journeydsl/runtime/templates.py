"""Message rendering: the bundle's templates in a read-only, bounded Jinja2 sandbox.

Templates come from the bundle (never the file system) and render in Jinja2's ImmutableSandboxedEnvironment,
so a template cannot reach Python internals nor change what it is shown: `profile.update(…)`,
`(profile|attr('pop'))('x')` or `profile.interests.append(…)` fail, and a profile changes only through a
`set` action, which leaves its record (issue 12). A template is compiled once, on first use, and cached.

A render is bounded too, so one template cannot hang `run` or take its memory; going over a limit raises
`LimitExceeded`, which the engine, like any failure of a template, turns into an `error` record for that send:
- `range()` gives at most MAX_RANGE items;
- a body, and any block of template text (`{% set %}…{% endset %}`, a macro's output), has at most MAX_OUTPUT
  characters;
- a value a template builds has at most MAX_VALUE characters as text. Where the operands give the size
  (`'x' * n`, `a ~ b`, `a + b`, `%` and `format` widths, `join`, `replace`, `center`, `indent`, `lipsum`, …) it
  is measured before it is built; any other filter's or call's result, a list or dict written in the template
  and a value stored in a namespace is measured when made, before anything can repeat it. Measuring counts a
  list held twice twice, as printing it would, so `[x, x]` nested again and again cannot grow unseen;
- a whole number a template computes (`*`, `**`) has at most MAX_INT_BITS bits;
- each loop iteration and each call is a step: a render stops after MAX_STEPS steps, or once it has run for
  MAX_SECONDS since its 16th step. The clock is read every 16 steps only, so a short render never reads it.
The step count makes the usual stop deterministic (the same events give the same records on any machine);
the clock is a backstop for steps that are each slow.
"""

from __future__ import annotations

import re
import string
import time
from collections.abc import Callable, Iterable, Iterator, Mapping
from types import BuiltinMethodType, MethodType
from typing import Any, Final

from jinja2 import Template, TemplateError, meta, nodes, pass_context, pass_environment, pass_eval_context
from jinja2 import filters as jinja_filters
from jinja2.exceptions import SecurityError
from jinja2.runtime import Context
from jinja2.sandbox import ImmutableSandboxedEnvironment, modifies_known_mutable
from jinja2.utils import Namespace, generate_lorem_ipsum
from markupsafe import soft_str

from journeydsl.runtime import fasttemplate
from journeydsl.runtime.timeparse import format_time

MAX_RANGE: Final = 10_000
"""Items of one `range()` (Jinja's own sandbox allows 100,000)."""
MAX_OUTPUT: Final = 65_536
"""Characters of a message body (64 Ki), and of any block of template text."""
MAX_VALUE: Final = 262_144
"""Characters of any value a template builds, as text (256 Ki: room for work on a body-sized text)."""
MAX_INT_BITS: Final = 4_096
"""Bits of a whole number a template computes with `*` or `**`."""
MAX_STEPS: Final = 100_000
"""Loop iterations and calls of one render."""
MAX_SECONDS: Final = 1.0
"""Wall clock of one render, from its 16th step (when it first reads the clock)."""
_CLOCK_EVERY: Final = 16  # steps between two readings of the clock: one reading costs about a loop iteration
_MAX_SUMMED: Final = 1_000  # lists one `sum(start=[])` adds up: each `+` copies all before it


def split_subject(body: str) -> tuple[str | None, str]:
    """(subject, text) of a rendered message that starts with `Subject: ...` and a blank line (an email's
    template); (None, body) otherwise. A send record carries the two apart (`subject`, `body`)."""
    if not body.startswith("Subject:"):
        return None, body
    first, _, rest = body.partition("\n")
    return first[len("Subject:") :].strip(), rest[1:] if rest.startswith("\n") else rest


class RenderError(Exception):
    """A template is missing or fails to render; the engine records an `error` action."""


class LimitExceeded(Exception):
    """A render went over one of the limits above."""


def _too_big(what: str, size: int, limit: int = MAX_VALUE) -> LimitExceeded:
    return LimitExceeded(f"{what} would be {size:,} characters, over the limit of {limit:,}")


# Measuring values. `size` estimates `len(str(value))` from above, and stops counting once past `budget`,
# so measuring costs at most the budget, however big (or cyclic) the value is.


def size(value: Any, budget: int = MAX_VALUE) -> int:
    """About how many characters `value` is as text: strings by length, containers by walking them; a list
    held twice counts twice, and each element also counts its depth (what indenting it would cost)."""
    if type(value) is str:
        return len(value)
    total = 0
    stack: list[tuple[Any, int]] = [(value, 0)]
    while stack:
        item, depth = stack.pop()
        total += depth
        if isinstance(item, (str, bytes)):
            total += len(item) + 2
        elif isinstance(item, (bool, float)) or item is None:
            total += 5
        elif isinstance(item, int):
            total += item.bit_length() // 3 + 2  # log10(2) < 1/3: never fewer than its digits
        elif isinstance(item, (list, tuple, set, frozenset)):
            total += 2 + 2 * len(item)
            if total <= budget:  # only then push: a list of a billion names must not be walked
                stack.extend([(child, depth + 1) for child in item])
        elif isinstance(item, dict):
            total += 2 + 4 * len(item)
            if total <= budget:
                stack.extend([(key, depth + 1) for key in item])
                stack.extend([(child, depth + 1) for child in item.values()])
        elif isinstance(item, Namespace):
            stack.append((object.__getattribute__(item, "_Namespace__attrs"), depth))
        else:
            total += 16  # an object whose text is short: Undefined, a macro, a loop, an iterator, a range
        if total > budget:
            return total
    return total


_SCALARS: Final = frozenset({int, float, bool, type(None)})


def check_value(value: Any, what: str = "a value the template builds") -> None:
    """Refuse a value over MAX_VALUE characters (after it was made: for operations whose result is at most a
    small multiple of their operands, which were measured in turn)."""
    kind = type(value)
    if kind is str:
        if len(value) > MAX_VALUE:
            raise _too_big(what, len(value))
    elif kind not in _SCALARS:
        measured = size(value)
        if measured > MAX_VALUE:
            raise _too_big(what, measured)


def _check_sum(what: str, total: int) -> None:
    if total > MAX_VALUE:
        raise _too_big(what, total)


def _bits(value: int) -> int:
    return value.bit_length() if value >= 0 else (-value).bit_length()


# Steps. A render's budget lives in its own variables (`context.parent`, a dict made for each render) under a
# name no template can write, made at its first step: a render without loops or calls pays nothing.

_BUDGET: Final = "journeydsl budget"


class _Budget:
    """The steps a render has taken, and the time it must end by."""

    def __init__(self) -> None:
        self.steps = 0
        self.deadline = 0.0  # set at the first reading of the clock: most renders take fewer steps

    def step(self) -> None:
        steps = self.steps + 1
        self.steps = steps
        if steps > MAX_STEPS:
            raise LimitExceeded(f"the render took over {MAX_STEPS:,} steps (loop iterations and calls)")
        if steps % _CLOCK_EVERY == 0:
            now = time.monotonic()
            if self.deadline == 0.0:
                self.deadline = now + MAX_SECONDS
            elif now > self.deadline:
                raise LimitExceeded(f"the render ran for over {MAX_SECONDS:g} s")


def _budget(context: Context) -> _Budget:
    budget = context.parent.get(_BUDGET)
    if not isinstance(budget, _Budget):
        budget = _Budget()
        context.parent[_BUDGET] = budget
    return budget


class _Counted:
    """The items of a `{% for %}`: each one is a step of the render."""

    def __init__(self, budget: _Budget, items: Iterable[Any]) -> None:
        self.budget = budget
        self.items = iter(items)

    def __iter__(self) -> Iterator[Any]:
        return self

    def __next__(self) -> Any:
        item = next(self.items)
        self.budget.step()
        return item


class _Loop:
    """The filter the compiler below puts around each `{% for %}`'s items (given the render's context)."""

    def __init__(self) -> None:
        self.jinja_pass_arg: Any = None

    def __call__(self, context: Context, items: Iterable[Any]) -> _Counted:
        return _Counted(_budget(context), items)


# Operations whose result size follows from their operands: measured before they run.


def _repeat(sequence: Any, times: Any) -> None:
    if type(times) is bool or not isinstance(times, int) or times <= 1:
        return
    if isinstance(sequence, (str, bytes)):
        _check_sum("a repetition", len(sequence) * times)
    elif isinstance(sequence, (list, tuple)):
        _check_sum("a repetition", size(sequence, MAX_VALUE // times + 1) * times)


def check_binop(operator: str, left: Any, right: Any) -> None:
    """Refuse `left OPERATOR right` when its result would be over a limit (before it is computed)."""
    if operator == "*":
        if isinstance(left, int) and isinstance(right, int):
            if _bits(left) + _bits(right) > MAX_INT_BITS:
                raise LimitExceeded(f"a product of over {MAX_INT_BITS:,} bits")
        else:
            _repeat(left, right)
            _repeat(right, left)
    elif operator == "**":
        if isinstance(left, int) and isinstance(right, int) and right > 0 and _bits(left) > 1:
            if (_bits(left) - 1) * right > MAX_INT_BITS:  # a base of b bits gives at least (b-1)*e bits
                raise LimitExceeded(f"a power of over {MAX_INT_BITS:,} bits")
    elif operator == "+":
        if isinstance(left, (str, bytes)) and isinstance(right, (str, bytes)):
            _check_sum("a concatenation", len(left) + len(right))
        elif isinstance(left, (list, tuple)) and isinstance(right, (list, tuple)):
            _check_sum("a concatenation", size(left) + size(right))
    elif operator == "%" and isinstance(left, (str, bytes)):
        _check_percent(left if isinstance(left, str) else left.decode("latin-1"), right)


_PRINTF = re.compile(r"%(\([^)]*\))?[-#0 +]*(\*|\d+)?(?:\.(\*|\d+))?[hlL]?(.)", re.S)


def _check_percent(pattern: str, values: Any) -> None:
    """`pattern % values`: its text, the widths and precisions it asks for, and each field at most all of
    `values` (a mapping may be named by every field)."""
    fields = 0
    widths = 0
    starred = False
    for match in _PRINTF.finditer(pattern):
        if match.group(4) == "%" and match.group(0) == "%%":
            continue
        fields += 1
        for number in (match.group(2), match.group(3)):
            if number == "*":
                starred = True
            elif number is not None:
                widths += int(number) if len(number) < 10 else MAX_VALUE + 1
    if starred and isinstance(values, tuple):  # widths taken from the values: count every number there
        widths += sum(abs(v) for v in values if isinstance(v, int))
    shown = size(values)
    _check_sum("a % format", len(pattern) + widths + (fields * shown if isinstance(values, Mapping) else shown))


def _check_format(pattern: str, args: tuple[Any, ...], kwargs: Mapping[str, Any]) -> None:
    """`pattern.format(…)`: as `_check_percent`, any field may show any argument (`{0}{0}{0}`)."""
    fields = 0
    widths = 0
    try:
        parsed = list(string.Formatter().parse(pattern))
    except ValueError:
        return  # the call itself fails the same way
    for _text, name, spec, _conversion in parsed:
        if name is None:
            continue
        fields += 1
        for number in re.findall(r"\d+", spec or ""):
            widths += int(number) if len(number) < 10 else MAX_VALUE + 1
        if spec and "{" in spec:  # a width taken from an argument
            widths += sum(abs(v) for v in [*args, *kwargs.values()] if isinstance(v, int))
    shown = size(args) + size(dict(kwargs))
    _check_sum("a str.format", len(pattern) + widths + fields * shown)


def _check_replace(text: Any, old: Any, new: Any, count: Any) -> None:
    if isinstance(text, str) and isinstance(old, str) and isinstance(new, str):
        hits = text.count(old) if old else len(text) + 1
    elif isinstance(text, bytes) and isinstance(old, bytes) and isinstance(new, bytes):
        hits = text.count(old) if old else len(text) + 1
    else:
        return  # the call fails by itself
    if isinstance(count, int) and count >= 0:
        hits = min(hits, count)
    _check_sum("a replace", len(text) + hits * max(len(new) - len(old), 0))


def _check_join(separator: Any, items: list[Any]) -> None:
    total = len(soft_str(separator)) * max(len(items) - 1, 0)
    for item in items:
        total += size(item, MAX_VALUE - total)
        _check_sum("a join", total)


def _check_width(width: Any, what: str) -> None:
    if isinstance(width, int) and width > MAX_VALUE:
        raise _too_big(what, width)


def _check_text_method(owner: str | bytes, name: str, args: tuple[Any, ...]) -> tuple[Any, ...]:
    """A `str` (or `bytes`) method whose result can be far longer than the string: its size first. Returns
    the arguments to call it with (`join`'s items are read once, here)."""
    if name in ("center", "ljust", "rjust", "zfill") and args:
        _check_width(args[0], f"str.{name}")
    elif name == "expandtabs":
        tab = args[0] if args and isinstance(args[0], int) else 8
        tabs = owner.count("\t") if isinstance(owner, str) else owner.count(b"\t")
        _check_sum("str.expandtabs", len(owner) + tabs * tab)
    elif name == "replace" and len(args) >= 2:
        _check_replace(owner, args[0], args[1], args[2] if len(args) > 2 else -1)
    elif name == "join" and args:
        items = list(args[0])
        _check_join(owner, items)
        return (items, *args[1:])
    elif name == "translate" and args and isinstance(args[0], Mapping):
        longest = max((size(v) for v in args[0].values() if isinstance(v, (str, bytes))), default=1)
        _check_sum("str.translate", len(owner) * max(longest, 1))
    return args


_TEXT_METHODS: Final = frozenset({"center", "ljust", "rjust", "zfill", "expandtabs", "replace", "join", "translate"})
_FORMATS: Final = frozenset({"format", "format_map"})


class _Format:
    """`str.format` / `format_map` as the sandbox wraps them, measured first."""

    def __init__(self, pattern: str, formatter: Callable[..., str], is_map: bool) -> None:
        self.pattern = pattern
        self.formatter = formatter
        self.is_map = is_map

    def __call__(self, *args: Any, **kwargs: Any) -> str:
        if self.is_map and len(args) == 1 and isinstance(args[0], Mapping):
            _check_format(self.pattern, (), args[0])
        else:
            _check_format(self.pattern, args, kwargs)
        return self.formatter(*args, **kwargs)


# Filters: every filter's result is measured; those that can multiply sizes check their arguments first.


class _Filter:
    """A filter whose result is measured. Keeps the original's `jinja_pass_arg` (context, environment…)."""

    def __init__(self, func: Callable[..., Any]) -> None:
        self.func = func
        self.jinja_pass_arg: Any = getattr(func, "jinja_pass_arg", None)

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        result = self.func(*args, **kwargs)
        check_value(result, "a filter's result")
        return result


def _center(value: Any, width: int = 80) -> str:
    _check_width(width, "center")
    return jinja_filters.do_center(value, width)


def _indent(s: Any, width: Any = 4, first: bool = False, blank: bool = False) -> str:
    if isinstance(s, str):
        unit = len(width) if isinstance(width, str) else width if isinstance(width, int) else 0
        _check_sum("indent", len(s) + (s.count("\n") + 1) * unit)
    return jinja_filters.do_indent(s, width, first, blank)


def _format(value: Any, *args: Any, **kwargs: Any) -> str:
    _check_percent(soft_str(value), kwargs or args)
    return jinja_filters.do_format(value, *args, **kwargs)


def _join(eval_ctx: Any, value: Any, d: str = "", attribute: Any = None) -> str:
    items = list(value)
    _check_join(d, items)
    return jinja_filters.sync_do_join(eval_ctx, items, d, attribute)


def _replace(eval_ctx: Any, s: Any, old: Any, new: Any, count: Any = None) -> str:
    _check_replace(soft_str(s), soft_str(old), soft_str(new), count)
    return jinja_filters.do_replace(eval_ctx, s, old, new, count)


def _wordwrap(
    environment: Any,
    s: Any,
    width: int = 79,
    break_long_words: bool = True,
    wrapstring: Any = None,
    break_on_hyphens: bool = True,
) -> str:
    if isinstance(s, str) and isinstance(width, int) and width > 0:
        separator = environment.newline_sequence if wrapstring is None else soft_str(wrapstring)
        lines = sum(len(word) // width + 1 for word in s.split()) + s.count("\n") + 1
        _check_sum("wordwrap", len(s) + lines * len(separator))
    return jinja_filters.do_wordwrap(environment, s, width, break_long_words, wrapstring, break_on_hyphens)


def _batch(value: Any, linecount: Any, fill_with: Any = None) -> Any:
    if fill_with is not None and isinstance(linecount, int):
        _check_sum("batch's filling", linecount * (size(fill_with) + 2))
    return jinja_filters.do_batch(value, linecount, fill_with)


def _slice(value: Any, slices: Any, fill_with: Any = None) -> Any:
    if isinstance(slices, int) and slices > MAX_RANGE:
        raise LimitExceeded(f"slice into {slices:,} parts is over the limit of {MAX_RANGE:,}")
    return jinja_filters.sync_do_slice(value, slices, fill_with)


def _sum(environment: Any, iterable: Any, attribute: Any = None, start: Any = 0) -> Any:
    if isinstance(start, (list, tuple)):  # adding lists: each `+` copies the result so far
        items = list(iterable)
        if len(items) > _MAX_SUMMED:
            raise LimitExceeded(f"sum of {len(items):,} lists is over the limit of {_MAX_SUMMED:,}")
        _check_sum("a sum of lists", size(start) + size(items))
        iterable = items
    return jinja_filters.sync_do_sum(environment, iterable, attribute, start)


def _urlize(
    eval_ctx: Any,
    value: Any,
    trim_url_limit: Any = None,
    nofollow: bool = False,
    target: Any = None,
    rel: Any = None,
    extra_schemes: Any = None,
) -> str:
    per_link = len(soft_str(target or "")) + len(soft_str(rel or ""))
    _check_sum("urlize", len(soft_str(value).split()) * per_link)
    return jinja_filters.do_urlize(eval_ctx, value, trim_url_limit, nofollow, target, rel, extra_schemes)


def _tojson(eval_ctx: Any, value: Any, indent: Any = None) -> Any:
    unit = len(indent) if isinstance(indent, str) else indent if isinstance(indent, int) else 0
    _check_sum("tojson", size(value) * max(unit, 1))
    return jinja_filters.do_tojson(eval_ctx, value, indent)


def _range(*args: int) -> range:
    items = range(*args)
    if len(items) > MAX_RANGE:
        raise LimitExceeded(f"range of {len(items):,} items is over the limit of {MAX_RANGE:,}")
    return items


def _lipsum(n: int = 5, html: bool = True, min: int = 20, max: int = 100) -> str:  # Jinja's parameter names
    if n > MAX_RANGE:
        raise LimitExceeded(f"lipsum of {n:,} paragraphs is over the limit of {MAX_RANGE:,}")
    _check_sum("lipsum", n * max * 16)  # words of at most 12 letters, a comma or a full stop, a space
    return generate_lorem_ipsum(n, html, min, max)


def _concat(chunks: Iterable[str]) -> str:
    """The body (and each block of text): the chunks the template yields, counted before they are joined."""
    parts = []
    total = 0
    for chunk in chunks:
        total += len(chunk)
        if total > MAX_OUTPUT:
            raise LimitExceeded(f"the text is over {MAX_OUTPUT:,} characters, the limit of a message body")
        parts.append(chunk)
    return "".join(parts)


def _join_text(items: tuple[Any, ...]) -> str:
    """`a ~ b`: Jinja's `str_join`, measured first."""
    total = 0
    for item in items:
        total += size(item, MAX_VALUE - total)
        _check_sum("a ~ concatenation", total)
    return "".join([str(item) for item in items])


def _built(value: Any) -> Any:
    """A list, tuple or dict written in the template with values in it, or a value stored in a namespace."""
    check_value(value)
    return value


_INTERCEPTED: Final = frozenset({"*", "**", "+", "%"})

# Filter names a template cannot write (they hold a space): the compiler below puts them into the tree.
_LOOP_FILTER: Final = "journeydsl loop"
_CONCAT_FILTER: Final = "journeydsl concat"
_BUILT_FILTER: Final = "journeydsl built"


class Sandbox(ImmutableSandboxedEnvironment):
    """Jinja's immutable sandbox with the limits of this module."""

    def __init__(self) -> None:
        super().__init__(autoescape=False, keep_trailing_newline=False)
        self.intercepted_binops = _INTERCEPTED
        self.concat = _concat  # type: ignore[method-assign]  # Jinja declares it as "".join's bound method
        self.globals["range"] = _range
        self.globals["lipsum"] = _lipsum
        filters: dict[str, Callable[..., Any]] = {name: _Filter(func) for name, func in self.filters.items()}
        # Jinja's own of these may take a first argument of their own (async variants take the eval context):
        # each replacement says what it takes.
        filters.update(
            center=_Filter(_center),
            indent=_Filter(_indent),
            format=_Filter(_format),
            batch=_Filter(_batch),
            slice=_Filter(_slice),
            join=pass_eval_context(_Filter(_join)),
            replace=pass_eval_context(_Filter(_replace)),
            urlize=pass_eval_context(_Filter(_urlize)),
            tojson=pass_eval_context(_Filter(_tojson)),
            wordwrap=pass_environment(_Filter(_wordwrap)),
            sum=pass_environment(_Filter(_sum)),
        )
        filters[_LOOP_FILTER] = pass_context(_Loop())
        filters[_CONCAT_FILTER] = _Filter(_join_text)
        filters[_BUILT_FILTER] = _Filter(_built)
        self.filters = filters

    def call(__self, __context: Context, __obj: Any, *args: Any, **kwargs: Any) -> Any:
        """Every call a template makes (methods, macros, globals, `loop()`, `caller()`): a step, then the
        sandbox's checks, then its result measured."""
        _budget(__context).step()
        if not __self.is_safe_callable(__obj):
            raise SecurityError(f"{__obj!r} is not safely callable")
        if type(__obj) is BuiltinMethodType and __obj.__name__ in _TEXT_METHODS:
            owner = __obj.__self__
            if isinstance(owner, (str, bytes)):
                args = _check_text_method(owner, __obj.__name__, args)
        result = __context.call(__obj, *args, **kwargs)
        check_value(result, "a call's result")
        return result

    def call_binop(self, context: Context, operator: str, left: Any, right: Any) -> Any:
        check_binop(operator, left, right)
        return self.binop_table[operator](left, right)

    def wrap_str_format(self, value: Any) -> Callable[..., str] | None:
        # Jinja asks this of every attribute a template reads: answer most of them without its own test.
        if not isinstance(value, (BuiltinMethodType, MethodType)) or value.__name__ not in _FORMATS:
            return None
        formatter = super().wrap_str_format(value)
        if formatter is None:
            return None
        return _Format(str(value.__self__), formatter, value.__name__ == "format_map")

    def unsafe_undefined(self, obj: Any, attribute: str) -> Any:
        if modifies_known_mutable(obj, attribute):
            return self.undefined(
                f"{type(obj).__name__}.{attribute} would change the template's data: templates see it read-only",
                name=attribute,
                obj=obj,
                exc=SecurityError,
            )
        return super().unsafe_undefined(obj, attribute)

    def refuses(self, attribute: str) -> bool:
        """Whether a template may not use `attribute` of a value it is shown (JSON data: a dict, a list, a
        string, a number), because it is internal or would change the value. For `journeydsl check`."""
        for sample in _SAMPLES:
            if hasattr(sample, attribute) and not self.is_safe_attribute(sample, attribute, getattr(sample, attribute)):
                return True
        return False


_SAMPLES: Final[tuple[object, ...]] = ({}, [], set(), "", 0, 0.5)


def _guard(node: nodes.Node) -> nodes.Node:
    """The tree with the limits' hooks put in: each `{% for %}` counts its items, each `~` and each list,
    tuple or dict with non-constant values is measured, so is each value stored in a namespace."""
    for field in node.fields:
        child = getattr(node, field, None)
        if isinstance(child, nodes.Node):
            setattr(node, field, _guard(child))
        elif isinstance(child, list):
            child[:] = [_guard(item) if isinstance(item, nodes.Node) else item for item in child]
    if isinstance(node, nodes.For):
        node.iter = _filter(node.iter, _LOOP_FILTER)
    elif isinstance(node, nodes.Assign) and isinstance(node.target, nodes.NSRef):
        node.node = _filter(node.node, _BUILT_FILTER)
    elif isinstance(node, nodes.Concat):
        return _filter(nodes.Tuple(node.nodes, "load", lineno=node.lineno), _CONCAT_FILTER)
    elif isinstance(node, (nodes.List, nodes.Tuple, nodes.Dict)) and not _constant(node):
        if not isinstance(node, nodes.Tuple) or node.ctx == "load":
            return _filter(node, _BUILT_FILTER)
    return node


def _filter(node: nodes.Node, name: str) -> nodes.Filter:
    return nodes.Filter(node, name, [], [], None, None, lineno=node.lineno)


def _constant(node: nodes.Node) -> bool:
    if isinstance(node, nodes.Const):
        return True
    if isinstance(node, (nodes.List, nodes.Tuple)):
        return all(_constant(item) for item in node.items)
    if isinstance(node, nodes.Dict):
        return all(_constant(pair.key) and _constant(pair.value) for pair in node.items)
    return False


# One sandbox and one cache of compiled templates per process, keyed by the template's text: engines
# opened again and again on the same bundle (the scenario runner opens one per scenario) compile each
# template once. The environment has no loader and no state a template could change.
_ENV = Sandbox()
_RESERVED = frozenset(_ENV.globals)
_COMPILED: dict[str, Compiled] = {}
_COMPILED_MAX = 4096


class Compiled:
    """A template ready to render: the sandboxed Jinja template, the fast plan when it has one
    (runtime/fasttemplate.py), and whether it reads `event` (only then is the shown event built).

    A template with a fast plan gets its Jinja template only when a render first falls back to it (most never
    do): Jinja's compiling generates and compiles Python source, a few milliseconds a template, which a run paid
    for each of the bundle's templates it used."""

    __slots__ = ("_jinja", "_tree", "fast", "uses_event")

    def __init__(self, text: str) -> None:
        tree = _ENV.parse(text)
        planned = fasttemplate.plan(tree, _RESERVED)
        self.fast = fasttemplate.renderer(planned[0]) if planned is not None else None
        self.uses_event = "event" in meta.find_undeclared_variables(tree)
        self._tree: nodes.Template | None = tree
        self._jinja: Template | None = None
        if self.fast is None:  # compiled now: a template Jinja cannot compile is refused where it is first used
            self._jinja = self._compile_jinja(tree)

    @property
    def jinja(self) -> Template:
        """The sandboxed Jinja template (compiled on first use when the template has a fast plan)."""
        compiled = self._jinja
        if compiled is None:
            tree = self._tree
            assert tree is not None  # kept until the Jinja template is made
            compiled = self._jinja = self._compile_jinja(tree)
        return compiled

    def _compile_jinja(self, tree: nodes.Template) -> Template:
        _guard(tree)  # in place: the root stays the same Template node
        compiled = _ENV.from_string(tree)
        # Template.globals is a ChainMap that every render copies; a plain dict copies several times faster.
        compiled.globals = dict(compiled.globals)
        self._tree = None
        return compiled


def _compile(text: str) -> Compiled:
    compiled = _COMPILED.get(text)
    if compiled is None:
        compiled = Compiled(text)
        if len(_COMPILED) >= _COMPILED_MAX:
            _COMPILED.clear()
        _COMPILED[text] = compiled
    return compiled


def warm(texts: Iterable[str]) -> int:
    """Compile `texts` into this process's template cache ahead of their first render (before forking workers,
    which then inherit it); how many compiled. One that does not compile is skipped: the render that uses it
    reports it as a record."""
    done = 0
    for text in texts:
        try:
            _compile(text)
        except Exception:  # noqa: BLE001, S112 - any failure of a user template is reported where it is rendered
            continue
        done += 1
    return done


class Templates:
    def __init__(self, texts: Mapping[str, str]) -> None:
        # Bundles hold `templates/messages/<channel>/<name>.j2`; accept the path with or without the prefix.
        self._texts: dict[str, str] = {}
        for path, text in texts.items():
            name = path[len("templates/") :] if path.startswith("templates/") else path
            self._texts[name] = text
        self._compiled: dict[tuple[str, str], Compiled] = {}

    def has(self, channel: str, template: str) -> bool:
        return f"messages/{channel}/{template}.j2" in self._texts

    def render(
        self, channel: str, template: str, data: Mapping[str, Any], profile: Mapping[str, Any], event: Mapping[str, Any]
    ) -> str:
        """The body: the template sees the send's `with` values, `profile`, and `event` (its `at` as text)."""
        key = (channel, template)
        compiled = self._compiled.get(key)
        if compiled is None:
            text = self._texts.get(f"messages/{channel}/{template}.j2")
            if text is None:
                raise RenderError(f"template messages/{channel}/{template}.j2 is not in the bundle")
            try:
                compiled = _compile(text)
            except TemplateError as err:
                raise RenderError(f"template messages/{channel}/{template}.j2 does not compile: {err}") from err
            self._compiled[key] = compiled
        context = {**data, "profile": profile}
        if compiled.uses_event:
            shown_event = dict(event)
            shown_event["at"] = format_time(event["at"])
            context["event"] = shown_event
        try:
            if compiled.fast is not None:
                try:
                    body = compiled.fast(context)
                except fasttemplate.Fallback:
                    pass
                else:
                    # The fast path only shows values it is given, so its body is measured once it is made.
                    if len(body) > MAX_OUTPUT:
                        raise LimitExceeded(f"the body is over {MAX_OUTPUT:,} characters, the limit of a message")
                    return body
            return str(compiled.jinja.render(context))
        except Exception as err:  # noqa: BLE001 - any failure inside a user template becomes a record, never a crash
            raise RenderError(f"template messages/{channel}/{template}.j2 failed: {type(err).__name__}: {err}") from err
