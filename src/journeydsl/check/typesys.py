"""The checker's types: the schema types plus `null` and `any` (unknown, after an error), and their rules.

`any` is what a node gets once an error has been reported inside it, so one mistake gives one
diagnostic instead of a cascade up the expression.
"""

from __future__ import annotations

from dataclasses import dataclass

from journeydsl.ir import TypeRef


@dataclass(frozen=True)
class Ty:
    kind: str  # string number bool timestamp duration list enum null any
    nullable: bool = False
    item: Ty | None = None
    members: tuple[str, ...] = ()

    def __str__(self) -> str:
        if self.kind == "list":
            text = f"list<{self.item or ANY}>"
        elif self.kind == "enum":
            text = f"enum({', '.join(self.members)})"
        else:
            text = self.kind
        return text + ("?" if self.nullable and self.kind not in ("null", "any") else "")

    def non_null(self) -> Ty:
        return Ty(self.kind, False, self.item, self.members) if self.nullable else self

    def with_null(self, nullable: bool) -> Ty:
        if not nullable or self.nullable or self.kind in ("null", "any"):
            return self
        return Ty(self.kind, True, self.item, self.members)


ANY = Ty("any")
NULL = Ty("null")
STRING = Ty("string")
NUMBER = Ty("number")
BOOL = Ty("bool")
TIMESTAMP = Ty("timestamp")
DURATION = Ty("duration")


def from_ref(ref: TypeRef) -> Ty:
    item = from_ref(ref.item) if ref.item is not None else None
    return Ty(ref.name, ref.nullable, item, tuple(ref.members))


def is_any(t: Ty) -> bool:
    return t.kind == "any"


def stringish(t: Ty) -> bool:
    """Strings and enums (an enum value is a string at run time)."""
    return t.kind in ("string", "enum")


def compatible(a: Ty, b: Ty) -> bool:
    """May `a == b` be asked? null compares with anything; enums with strings."""
    if "any" in (a.kind, b.kind) or "null" in (a.kind, b.kind):
        return True
    if stringish(a) and stringish(b):
        return True
    if a.kind == "list" and b.kind == "list":
        return a.item is None or b.item is None or compatible(a.item, b.item)
    return a.kind == b.kind


def fits(value: Ty, target: Ty) -> bool:
    """May a value of type `value` be stored where `target` is declared? (`set profile.F = …`)."""
    if is_any(value) or is_any(target):
        return True
    if value.kind == "null":
        return target.nullable
    if target.kind == "enum":
        # An enum of a subset of the members fits; string literals are checked member by member elsewhere.
        return value.kind == "enum" and set(value.members) <= set(target.members)
    if target.kind == "string":
        return stringish(value)
    if target.kind == "list":
        if value.kind != "list":
            return False
        return value.item is None or target.item is None or fits(value.item, target.item)
    return value.kind == target.kind


def join(a: Ty, b: Ty) -> Ty | None:
    """The type of a list holding both, or a `coalesce` of both; None when they do not mix."""
    if is_any(a) or is_any(b):
        return ANY
    if a.kind == "null":
        return b.with_null(True)
    if b.kind == "null":
        return a.with_null(True)
    nullable = a.nullable or b.nullable
    if a.kind == b.kind and a.kind != "enum" and a.kind != "list":
        return a.with_null(nullable)
    if stringish(a) and stringish(b):
        if a.kind == b.kind == "enum" and a.members == b.members:
            return a.with_null(nullable)
        return STRING.with_null(nullable)
    if a.kind == b.kind == "list":
        if a.item is None:
            return b.with_null(nullable)
        if b.item is None:
            return a.with_null(nullable)
        item = join(a.item, b.item)
        return Ty("list", nullable, item) if item else None
    return None
