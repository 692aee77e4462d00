"""The table of stores by URL scheme (runtime/stores.py): each scheme's module registers the class that opens it."""

from __future__ import annotations

from typing import Any

import pytest

from journeydsl.runtime import MemoryStore, Store, StoreError, open_store
from journeydsl.runtime.store import STORES, register_store
from journeydsl.runtime.stores import STORE_MODULES, store_class


@pytest.mark.parametrize("scheme", sorted(STORE_MODULES))
def test_each_scheme_in_the_table_is_registered_by_its_module(scheme: str) -> None:
    found = store_class(scheme)
    assert found.__module__ == STORE_MODULES[scheme]
    assert scheme in found.schemes and STORES[scheme] is found


def test_an_unknown_scheme_names_the_known_ones() -> None:
    with pytest.raises(StoreError, match="unknown store URL 'redis://x': the known schemes are memory, sqlite"):
        open_store("redis://x")
    with pytest.raises(StoreError, match="unknown store URL"):
        open_store("no-scheme-at-all")


def test_a_subclass_does_not_take_its_parents_scheme_over() -> None:
    class Double(MemoryStore):
        pass

    with pytest.raises(TypeError, match="Double names no URL scheme of its own"):
        register_store(Double)
    assert STORES["memory"] is MemoryStore
    assert isinstance(open_store("memory://"), MemoryStore) and not isinstance(open_store("memory://"), Double)


def test_a_second_class_may_not_claim_a_scheme() -> None:
    class Other(MemoryStore):
        schemes = ("memory",)

        @classmethod
        def from_url(cls, url: str, batch: int | None = None, mode: Any = "auto", wait: float = 0.0) -> Other:
            return cls()

    with pytest.raises(TypeError, match="'memory' is MemoryStore's already"):
        register_store(Other)
    assert STORES["memory"] is MemoryStore


def test_a_class_registered_again_replaces_itself() -> None:
    register_store(MemoryStore)  # what a reload of its module does
    assert STORES["memory"] is MemoryStore


def test_a_class_naming_a_scheme_must_open_urls() -> None:
    class NoOpener(Store):
        schemes = ("nothing", "memory")

    with pytest.raises(TypeError, match="has no from_url"):
        register_store(NoOpener)
    assert "nothing" not in STORES and STORES["memory"] is MemoryStore


def test_a_store_flag_set_as_a_class_attribute_is_refused() -> None:
    class ClassDurable(MemoryStore):
        durable = True

    with pytest.raises(TypeError, match=r"ClassDurable sets durable as a class attribute: set self.durable in"):
        ClassDurable()

    class InstanceDurable(MemoryStore):
        def __init__(self) -> None:
            super().__init__()
            self.durable = True

    assert InstanceDurable().durable is True
