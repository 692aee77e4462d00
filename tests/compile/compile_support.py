"""The SPEC 3.2 solar journey and its schema, built by hand as IR (independent of the parser)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from journeydsl.ir import (
    Arg,
    Binary,
    CallAction,
    Cap,
    ChannelDef,
    Choose,
    Duration,
    Emit,
    End,
    Entry,
    EventDef,
    Exit,
    Experiment,
    FieldDef,
    Goal,
    Goto,
    Journey,
    Literal,
    Name,
    Quiet,
    Reentry,
    Schema,
    Send,
    SetProfile,
    Sleep,
    SourceFile,
    Span,
    Stage,
    Step,
    Target,
    TypeRef,
    Variant,
    Wait,
    WaitArm,
    When,
)
from journeydsl.project import Project


def _t(name: str) -> Target:
    return Target(name)


def _f(name: str, type_name: str, nullable: bool = False, **kw: object) -> FieldDef:
    return FieldDef(name, TypeRef(type_name, nullable, **kw))  # type: ignore[arg-type]


def customer_schema() -> Schema:
    return Schema(
        "customer",
        profile=(
            _f("email", "string"),
            _f("first_name", "string", True),
            _f("segment", "enum", members=("new", "active", "vip", "churned")),
            _f("ltv", "number"),
            _f("roof_area_m2", "number", True),
            _f("consent_email", "bool"),
            _f("consent_sms", "bool"),
            _f("last_purchase_at", "timestamp", True),
            _f("interests", "list", item=TypeRef("string")),
        ),
        events=(
            EventDef("quote_requested", (_f("roof_area_m2", "number"), _f("zip", "string"))),
            EventDef("contract_signed", (_f("amount", "number"),)),
            EventDef("contract_cancelled", ()),
            EventDef("unsubscribed", ()),
            EventDef("install_scheduled", (_f("amount", "number"),)),
        ),
        channels=(
            ChannelDef("email", 0.002, "consent_email"),
            ChannelDef("sms", 0.04, "consent_sms"),
            ChannelDef("push", 0.0),
        ),
    )


def _step(name: str, line: int, actions: tuple, flow: object) -> Step:  # type: ignore[type-arg]
    return Step(name, actions, flow, span=Span("solar.journey", line, 5, line, 20))  # type: ignore[arg-type]


def roof() -> Name:
    return Name(("event", "roof_area_m2"))


def solar_journey(version: int = 3, offer_threshold: int = 40) -> Journey:
    days = Duration
    return Journey(
        "solar_onboarding",
        version=version,
        owner="maria.lopez@sunco.example",
        title="Solar onboarding",
        experience="respond_to_desire",
        uses="customer",
        entry=Entry("quote_requested", where=Binary("!=", Name(("profile", "segment")), Literal("churned"))),
        reentry=Reentry("after", days(90, "d")),
        exits=(Exit("unsubscribed"), Exit("contract_cancelled")),
        goals=(Goal("signed", "contract_signed", within=days(30, "d"), value=Name(("event", "amount"))),),
        caps=(Cap("email", 3, days(7, "d")),),
        quiet=Quiet("21:00", "08:00"),
        stages=(
            Stage(
                "recognize",
                (
                    _step(
                        "welcome",
                        18,
                        (
                            Send("email", "welcome", (Arg("roof", roof()),)),
                            SetProfile("segment", Literal("active")),
                        ),
                        Goto(_t("size_roof")),
                    ),
                ),
            ),
            Stage(
                "request",
                (
                    _step(
                        "size_roof",
                        25,
                        (),
                        Choose(
                            (
                                When(Binary(">=", roof(), Literal(offer_threshold)), _t("offer_full")),
                                When(Binary(">=", roof(), Literal(15)), _t("offer_small")),
                            ),
                            otherwise=_t("advisor_call"),
                        ),
                    ),
                    _step("offer_full", 31, (Send("email", "offer_full"),), Goto(_t("await_signature"))),
                    _step("offer_small", 32, (Send("email", "offer_small"),), Goto(_t("await_signature"))),
                    _step(
                        "advisor_call",
                        33,
                        (CallAction("crm_task", (Arg("kind", Literal("advisor_call")),)),),
                        Goto(_t("await_signature")),
                    ),
                    _step(
                        "await_signature",
                        34,
                        (),
                        Wait(
                            (
                                WaitArm("contract_signed", _t("install")),
                                WaitArm("quote_requested", _t("size_roof")),
                            ),
                            Timeout_after(days(7, "d"), "nudge"),
                        ),
                    ),
                    _step(
                        "nudge",
                        41,
                        (),
                        Experiment(
                            "nudge_copy",
                            (
                                Variant("friendly", 50, _t("nudge_friendly")),
                                Variant("urgent", 40, _t("nudge_urgent")),
                                Variant("control", 10, _t("lost"), control=True),
                            ),
                        ),
                    ),
                    _step("nudge_friendly", 48, (Send("email", "nudge_friendly"),), Goto(_t("last_call"))),
                    _step("nudge_urgent", 49, (Send("sms", "nudge_urgent"),), Goto(_t("last_call"))),
                    _step(
                        "last_call",
                        50,
                        (),
                        Wait((WaitArm("contract_signed", _t("install")),), Timeout_after(days(14, "d"), "lost")),
                    ),
                ),
            ),
            Stage(
                "respond",
                (
                    _step(
                        "install",
                        58,
                        (Emit("install_scheduled", (Arg("amount", Name(("event", "amount"))),)),),
                        Sleep(days(30, "d"), _t("review")),
                    ),
                ),
            ),
            Stage(
                "repeat",
                (
                    _step("review", 61, (Send("email", "review_request"),), Goto(_t("done"))),
                    _step("done", 62, (), End("converted")),
                    _step("lost", 63, (), End("lost")),
                ),
            ),
        ),
    )


def Timeout_after(duration: Duration, target: str):  # noqa: N802 - reads like the IR node it builds
    from journeydsl.ir import Timeout

    return Timeout(_t(target), after=duration)


TEMPLATES = ["welcome", "offer_full", "offer_small", "nudge_friendly", "review_request"]


def write_templates(root: Path) -> Path:
    """templates/messages/<channel>/<name>.j2 for every send of the solar journey, plus one it does not use."""
    for name in TEMPLATES:
        path = root / "messages" / "email" / f"{name}.j2"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(f"Hello {{{{ profile.first_name }}}}: {name}\n", encoding="utf-8")
    sms = root / "messages" / "sms" / "nudge_urgent.j2"
    sms.parent.mkdir(parents=True, exist_ok=True)
    sms.write_text("Last chance!\n", encoding="utf-8")
    (root / "messages" / "email" / "unused.j2").write_text("not sent by anyone\n", encoding="utf-8")
    return root


def make_project(journeys: list[Journey], templates_dir: Path) -> Project:
    files = [SourceFile("journeys/customer.journey", schemas=(customer_schema(),))]
    sources = {"journeys/customer.journey": "schema customer {}\n"}
    for journey in journeys:
        path = f"journeys/{journey.name}_v{journey.version}.journey"
        files.append(SourceFile(path, journeys=(journey,)))
        sources[path] = f"journey {journey.name} version {journey.version}\n"
    return Project(files=files, sources=sources, templates_dir=templates_dir)


@pytest.fixture
def templates(tmp_path: Path) -> Path:
    return write_templates(tmp_path / "templates")


@pytest.fixture
def project_factory(templates: Path) -> Callable[..., Project]:
    def factory(*journeys: Journey) -> Project:
        return make_project(list(journeys) or [solar_journey()], templates)

    return factory


SOLAR_DSL = """\
schema customer {
  profile {
    email: string
    first_name: string?            # ? = may be missing (null)
    segment: enum(new, active, vip, churned)
    ltv: number
    roof_area_m2: number?
    consent_email: bool
    consent_sms: bool
    last_purchase_at: timestamp?
    interests: list<string>
  }
  event quote_requested { roof_area_m2: number, zip: string }
  event contract_signed { amount: number }
  event contract_cancelled {}
  event unsubscribed {}
  event install_scheduled { amount: number }
  channel email { cost 0.002 requires profile.consent_email }
  channel sms   { cost 0.04  requires profile.consent_sms }
  channel push  { cost 0.0 }
}

journey solar_onboarding {
  title "Solar onboarding"
  version 3
  owner "maria.lopez@sunco.example"      # the journey product manager
  experience respond_to_desire
  uses customer                           # the schema

  entry on quote_requested where profile.segment != "churned"
  reentry after 90d                       # never | always | after DURATION  (default never)
  exit on unsubscribed
  exit on contract_cancelled
  goal signed on contract_signed within 30d value event.amount
  cap email 3 per 7d                      # frequency cap per channel
  quiet 21:00-08:00                       # no sends in these hours (customer-local if profile.tz exists)

  stage recognize {
    step welcome {
      send email welcome with { roof: event.roof_area_m2 }
      set profile.segment = "active"
      -> size_roof
    }
  }
  stage request {
    step size_roof {
      choose {
        when event.roof_area_m2 >= 40 -> offer_full
        when event.roof_area_m2 >= 15 -> offer_small
        otherwise -> advisor_call
      }
    }
    step offer_full  { send email offer_full  -> await_signature }
    step offer_small { send email offer_small -> await_signature }
    step advisor_call { call crm_task with { kind: "advisor_call" } -> await_signature }
    step await_signature {
      wait {
        on contract_signed -> install
        on quote_requested -> size_roof          # asked again: re-offer
        after 7d -> nudge
      }
    }
    step nudge {
      experiment nudge_copy {
        variant friendly 50% -> nudge_friendly
        variant urgent   40% -> nudge_urgent
        control          10% -> lost              # holdout: no message
      }
    }
    step nudge_friendly { send email nudge_friendly -> last_call }
    step nudge_urgent   { send sms nudge_urgent -> last_call }
    step last_call {
      wait {
        on contract_signed -> install
        after 14d -> lost
      }
    }
  }
  stage respond {
    step install { emit install_scheduled with { amount: event.amount } wait 30d -> review }
  }
  stage repeat {
    step review { send email review_request -> done }
    step done { end converted }
    step lost { end lost }
  }
}
"""


@pytest.fixture
def solar_dir(tmp_path: Path) -> Path:
    """A project folder on disk: solar.journey (SPEC 3.2) and its templates."""
    root = tmp_path / "proj"
    (root / "journeys").mkdir(parents=True)
    (root / "journeys" / "solar.journey").write_text(SOLAR_DSL, encoding="utf-8")
    write_templates(root / "templates")
    return root
