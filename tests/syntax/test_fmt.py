"""`format_dsl` / `format_expr`: one canonical layout, idempotent, same IR back, comments kept; the `fmt` CLI."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

from journeydsl.cli.format import fmt
from journeydsl.ir import Binary, Literal, Name, Span, Unary
from journeydsl.syntax import format_dsl, format_expr, parse_dsl, parse_expression

HERE = Path(__file__).parent
SPEC_EXAMPLE = (HERE / "spec_example.journey").read_text(encoding="utf-8")
JOURNEYS = HERE.parents[1] / "journeys"

MESSY = """# header comment

journey b { stage s { step a { -> a } } }
# before the schema's twin
journey a {
owner   "o"    # the owner
    title "T"
  version 2

  # the entry policy
  entry on e where (profile.x + 1) * 2 > 3
  stage s {
    step a {   send email w    wait 1d -> b }
    step b {
      # inside b
      end done
    }
    # last in the stage
  }
}
schema s { profile { x: number } event e {} channel email { cost 0.000001 } }
# the end
"""


def fmt_text(text: str) -> str:
    source, diagnostics = parse_dsl(text, "f.journey")
    assert diagnostics == []
    return format_dsl(source)


@pytest.mark.parametrize("text", [SPEC_EXAMPLE, MESSY], ids=["spec", "messy"])
def test_idempotent_and_same_ir(text: str) -> None:
    once = fmt_text(text)
    assert fmt_text(once) == once
    assert parse_dsl(once, "f.journey")[0] == parse_dsl(text, "f.journey")[0]


def test_spec_example_layout() -> None:
    out = fmt_text(SPEC_EXAMPLE)
    assert '  owner "maria.lopez@sunco.example"  # the journey product manager\n' in out
    assert "    step offer_full { send email offer_full -> await_signature }\n" in out
    assert "        on quote_requested -> size_roof  # asked again: re-offer\n" in out
    assert "        control 10% -> lost  # holdout: no message\n" in out
    assert out.index("schema customer") < out.index("journey solar_onboarding")


def test_messy_layout_and_comments() -> None:
    out = fmt_text(MESSY)
    assert out.startswith("# header comment\n\nschema s {")
    assert out.endswith("}\n# the end\n")
    # header items in the fixed order, comments travel with their item
    assert '  title "T"\n  version 2\n  owner "o"  # the owner\n\n  # the entry policy\n  entry on' in out
    assert "entry on e where (profile.x + 1) * 2 > 3\n" in out
    assert "    step a { send email w wait 1d -> b }\n    # inside b\n    step b { end done }\n" in out
    assert "    # last in the stage\n  }\n" in out
    assert "channel email { cost 0.000001 }" in out
    assert out.count("# before the schema's twin") == 1


@pytest.mark.parametrize(
    "text",
    [
        "a or b and c",
        "(a or b) and c",
        "not (a and b)",
        "not a and b",
        "a - (b - c)",
        "a - b - c",
        "(a + b) * c",
        "a * -b",
        "-(a + b)",
        "- -a",
        "(a < b) == c",
        'a not in [1, 2.5, "x\\"y"]',
        "f(a, b + 1) % 2",
        "now - 15m > event.at",
        "null == true",
    ],
)
def test_format_expr_round_trips_with_minimal_parentheses(text: str) -> None:
    expr, diagnostics = parse_expression(text, Span("x", 1, 1, 1, 1))
    assert diagnostics == [] and expr is not None
    assert format_expr(expr) == text
    assert parse_expression(format_expr(expr), Span("x", 1, 1, 1, 1))[0] == expr


def test_format_expr_of_built_trees() -> None:
    tree = Binary("*", Binary("+", Name(("a",)), Literal(1)), Unary("-", Name(("b",))))
    assert format_expr(tree) == "(a + 1) * -b"
    assert format_expr(Binary("<", Binary("<", Literal(1), Literal(2)), Literal(3))) == "(1 < 2) < 3"
    assert format_expr(Literal("tab\there\nnew")) == '"tab\\there\\nnew"'


def test_fmt_cli(tmp_path: Path) -> None:
    good = tmp_path / "a.journey"
    good.write_text("journey a {version 1}\n", encoding="utf-8")
    (tmp_path / "b.journey.yaml").write_text("journey: b\n", encoding="utf-8")
    runner = CliRunner()
    result = runner.invoke(fmt, [str(tmp_path), "--check"])
    assert result.exit_code == 1 and f"would reformat {good}" in result.output
    assert good.read_text(encoding="utf-8") == "journey a {version 1}\n"
    result = runner.invoke(fmt, [str(tmp_path)])
    assert result.exit_code == 0
    assert good.read_text(encoding="utf-8") == "journey a {\n  version 1\n}\n"
    assert runner.invoke(fmt, [str(good), "--check"]).exit_code == 0


def test_fmt_cli_never_rewrites_a_broken_file(tmp_path: Path) -> None:
    bad = tmp_path / "bad.journey"
    bad.write_text("journey a {\n  stage s { step x { send email w } }\n}\n", encoding="utf-8")
    result = CliRunner().invoke(fmt, [str(bad)])
    assert result.exit_code == 1
    assert f"{bad}:2:35:" in result.output and "JD001" in result.output
    assert bad.read_text(encoding="utf-8").startswith("journey a {\n  stage s { step")


def test_every_example_journey_formats_idempotently() -> None:
    examples = sorted(JOURNEYS.rglob("*.journey")) if JOURNEYS.is_dir() else []
    if not examples:
        pytest.skip("no example journeys yet")
    for path in examples:
        text = path.read_text(encoding="utf-8")
        source, diagnostics = parse_dsl(text, str(path))
        assert [d for d in diagnostics if d.severity.name == "ERROR"] == [], path
        once = format_dsl(source)
        again, _ = parse_dsl(once, str(path))
        assert again == source, path
        assert format_dsl(again) == once, path
