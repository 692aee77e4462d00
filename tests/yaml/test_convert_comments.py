"""`convert` keeps comments: DSL -> YAML -> DSL and YAML -> DSL -> YAML, each comment next to its node."""

from __future__ import annotations

from pathlib import Path

import pytest

from journeydsl.syntax import format_dsl, parse_dsl, to_yaml
from journeydsl.syntax.yaml_comments import yaml_comments
from journeydsl.syntax.yaml_loader import load_yaml

ROOT = Path(__file__).resolve().parents[2]

DSL = """# The header comment.
journey j {
  version 1
  reentry always  # trailing on a header item
  entry on e

  # above the stage
  stage s {
    # above the first step
    step a {
      send email hi  # after an action
      -> b
    }
    step b {
      wait {
        on e -> c  # on a wait arm
        after 2d -> c
      }
    }
    step c { end }
  }
}
# at the end
"""


def comment_texts(text: str) -> list[str]:
    return [line.split("#", 1)[1].strip() for line in text.splitlines() if "#" in line]


def test_dsl_comments_go_to_the_yaml_lines_of_their_nodes() -> None:
    source, diags = parse_dsl(DSL, "j.journey")
    assert diags == []
    text = to_yaml(source)
    lines = text.splitlines()
    assert lines[0] == "# The header comment." and lines[1] == "journey: j"
    assert "reentry: always  # trailing on a header item" in lines
    assert lines[lines.index("  s:") - 1] == "  # above the stage"
    assert lines[lines.index("    a:") - 1] == "    # above the first step"
    assert any(line.startswith("        - send:") and line.endswith("# after an action") for line in lines)
    assert "        - {on: e, next: c}  # on a wait arm" in lines
    assert lines[-1] == "# at the end"
    assert comment_texts(text) == comment_texts(DSL)
    again, diags = load_yaml(text, "j.journey.yaml")
    assert diags == [] and again.journeys == source.journeys


def test_a_round_trip_through_yaml_gives_back_the_dsl() -> None:
    source, _ = parse_dsl(DSL, "j.journey")
    back, diags = load_yaml(to_yaml(source), "j.journey.yaml")
    assert diags == []
    assert comment_texts(format_dsl(back)) == comment_texts(DSL)
    # The last comment comes back inside the journey (a YAML document has no closing brace to put it after).
    assert format_dsl(back).replace("    # at the end\n", "") + "# at the end\n" == format_dsl(source)


@pytest.mark.parametrize("name", ["day_of_travel.journey.yaml", "style_box.journey.yaml", "win_back.journey.yaml"])
def test_every_comment_of_an_example_survives_both_ways(name: str) -> None:
    text = (ROOT / "journeys" / name).read_text(encoding="utf-8")
    source, diags = load_yaml(text, name)
    assert diags == []
    dsl = format_dsl(source)
    assert comment_texts(dsl) == comment_texts(text)
    parsed, diags = parse_dsl(dsl, "x.journey")
    assert diags == []
    assert comment_texts(to_yaml(parsed)) == comment_texts(text)


def test_a_hash_inside_a_string_or_a_block_scalar_is_no_comment() -> None:
    text = (
        "journey: j  # the name\n"
        "title: 'a # b'\n"
        'owner: "c # d"\n'
        "description: >-\n"
        "  not # a comment\n"
        "tags: [x#y]\n"
        "# own line\n"
    )
    source, _ = load_yaml(text, "j.journey.yaml")
    found = [(c.text, c.line, c.trailing) for c in source.comments]
    assert found == [("# the name", 1, True), ("# own line", 7, False)]


def test_yaml_comments_of_a_text_without_documents() -> None:
    assert [c.text for c in yaml_comments("# only a comment\n", [])] == ["# only a comment"]


def test_the_comments_of_a_schema_survive_both_ways() -> None:
    """Each integration is on a line of its own in YAML, so each keeps its own trailing comment."""
    text = (ROOT / "journeys" / "customer.journey").read_text(encoding="utf-8")
    source, _ = parse_dsl(text, "customer.journey")
    yaml_text = to_yaml(source)
    assert comment_texts(yaml_text) == comment_texts(text)
    assert "  - address_check  # home services\n" in yaml_text
    back, diags = load_yaml(yaml_text, "customer.journey.yaml")
    assert diags == [] and comment_texts(format_dsl(back)) == comment_texts(text)
