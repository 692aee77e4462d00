"""The report as plain text for a terminal: one block per journey version."""

from __future__ import annotations

from typing import Any

from journeydsl.analytics.expect import arms


def money(value: float | None) -> str:
    return "unknown" if value is None else f"{value:,.2f}"


def percent(value: float | None) -> str:
    return "-" if value is None else f"{100 * value:.1f}%"


def number(value: float | None, digits: int = 3) -> str:
    return "-" if value is None else f"{value:.{digits}f}"


def render_text(report: dict[str, Any], plans_from: str | None = None) -> str:
    lines: list[str] = []
    if not report["journeys"]:
        return "no journey activity in this store\n"
    if plans_from is not None:
        lines.append(f"plans: {plans_from}")
        lines.append("")
    else:
        lines.append("note: no bundle plans found (use --bundle B): costs come from the send records; no experiments")
        lines.append("")
    expectations = report.get("expectations") or {}
    expected = {(part["journey"], part["version"]): part for part in expectations.get("journeys", [])}
    for journey in report["journeys"]:
        lines += _journey(journey)
        part = expected.get((journey["journey"], journey["version"]))
        if part is not None:
            lines += expectation_lines(part)
        lines.append("")
    totals = report["totals"]
    lines.append(
        f"total: {totals['entries']} entries, value {money(totals['value'])}, cost {money(totals['cost'])}, "
        f"ROI {number(totals['roi'], 2)}"
    )
    if expectations.get("below"):
        lines.append("below expectation: " + ", ".join(flag_text(flag) for flag in expectations["below"]))
    return "\n".join(lines) + "\n"


def flag_text(flag: dict[str, Any]) -> str:
    """`onboarding v2 goal activated (variant urgent)`: one journey, goal and arm significantly below."""
    arm = f" (variant {flag['variant']})" if flag["variant"] is not None else ""
    return f"{flag['journey']} v{flag['version']} goal {flag['goal']}{arm}"


def interval(low: float | None, high: float | None) -> str:
    return "-" if low is None or high is None else f"[{percent(low)}, {percent(high)}]"


def expectation_lines(part: dict[str, Any]) -> list[str]:
    """Expected against actual of one journey version (analytics.expect), one line per arm."""
    lines = ["expected against actual (95% interval):"]
    for goal in part["goals"]:
        lines.append(f"  goal {goal['goal']}, expected {percent(goal['all']['expected'])}:")
        for arm in arms(goal):
            # Upper case only where it flags the journey: the holdout is not expected to respond.
            verdict = arm["verdict"].upper() if arm["flags"] else arm["verdict"]
            line = (
                f"    {arm['label']:<20} {arm['reached']:>5}/{arm['entries']:<5} {percent(arm['rate']):>6} "
                f"{interval(arm['low'], arm['high']):<16} {points(arm['difference']):>9}  {verdict}"
            )
            if arm["lift"] is not None:
                line += (
                    f"   lift {points(arm['lift'])} [{points(arm['lift_low'])}, {points(arm['lift_high'])}] "
                    f"against control, {arm['incremental']:+.1f} conversions"
                )
            lines.append(line)
    if part["below"]:
        lines.append("  => significantly below expectation")
    return lines


def _journey(j: dict[str, Any]) -> list[str]:
    title = f" ({j['title']})" if j.get("title") else ""
    lines = [f"== {j['journey']} v{j['version']}{title}", f"entries {j['entries']}   still active {j['active']}"]
    width = max([len(s["step"]) for s in j["steps"]] + [4])
    lines.append(f"  {'step':<{width}}  {'reach':>7}  {'of entries':>10}")
    for step in j["steps"]:
        lines.append(f"  {step['step']:<{width}}  {step['reach']:>7}  {percent(step['share']):>10}")
    if j["exits"]:
        lines.append("exits:  " + ", ".join(f"{reason} {n}" for reason, n in j["exits"].items()))
    if j["ends"]:
        lines.append("ends:   " + ", ".join(f"{outcome} {n}" for outcome, n in j["ends"].items()))
    for goal in j["goals"]:
        lines.append(
            f"goal {goal['goal']}: {goal['conversions']} conversions ({percent(goal['rate'])} of entries), "
            f"value {money(goal['value'])}"
        )
    for channel, s in j["sends"].items():
        lines.append(
            f"sends {channel}: sent {s['sent']}, delayed {s['delayed']}, suppressed {s['suppressed']}, "
            f"cost {money(s['cost'])}"
        )
    lines.append(f"value {money(j['value'])}   cost {money(j['cost'])}   ROI {number(j['roi'], 2)}")
    for exp in j["experiments"]:
        lines.append(f"experiment {exp['experiment']} (step {exp['step']}):")
        for v in exp["variants"]:
            label = f"{v['variant']}{' (control)' if v['control'] else ''}"
            test = ""
            if v["z"] is not None:
                verdict = "significant at 5%" if v["significant"] else "not significant"
                test = f"   z {v['z']:+.2f}  p {v['p_value']:.4f}  {verdict}"
            elif not v["control"] and exp["has_control"]:
                test = "   z-test: not enough data"
            lines.append(
                f"  {label:<20} {v['converted']:>5}/{v['assigned']:<5} converted {percent(v['rate']):>6}{test}"
            )
            if v.get("incremental_conversions") is not None:
                lines.append(f"  {'':<20} {_lift_text(v)}")
        if exp.get("incremental_conversions") is not None:
            lines.append(
                f"  all variants against control: {exp['incremental_conversions']:+.1f} conversions, "
                f"value {signed_money(exp['incremental_value'])}"
            )
    return lines


def signed_money(value: float | None) -> str:
    return "unknown" if value is None else f"{value:+,.2f}"


def points(value: float | None) -> str:
    """An absolute difference of two rates, in percentage points."""
    return "-" if value is None else f"{100 * value:+.1f} pp"


def _lift_text(v: dict[str, Any]) -> str:
    """`lift +4.0 pp (+50.0%): +12.0 conversions, value +300.00, cost +1.20, incremental ROI 249.00`."""
    relative = f" ({100 * v['relative_lift']:+.1f}%)" if v.get("relative_lift") is not None else ""
    text = (
        f"lift {points(v['lift'])}{relative} against control: {v['incremental_conversions']:+.1f} conversions, "
        f"value {signed_money(v['incremental_value'])}"
    )
    if v.get("incremental_cost") is not None:
        text += f", cost {signed_money(v['incremental_cost'])}, incremental ROI {number(v['incremental_roi'], 2)}"
    return text
