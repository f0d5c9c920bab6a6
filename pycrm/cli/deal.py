"""`pycrm deal …`: open deals and work the pipeline."""

from __future__ import annotations

import typer

from pycrm.cli.common import amount, day, local_text
from pycrm.cli.context import get_context
from pycrm.cli.output import line, note, print_json, safe

app = typer.Typer(help="The pipeline: add, list, show, move, won, lost.", no_args_is_help=True)


@app.command("add")
def add(
    ctx: typer.Context,
    title: str = typer.Argument(..., help="What is being sold."),
    contact: str = typer.Option(..., "--contact", help="The person (REF)."),
    company: str = typer.Option(
        None, "--company", help="The company (REF); default: the person's."
    ),
    value: str = typer.Option(..., "--value", help="Amount, e.g. 12000 or 1.234,56."),
    currency: str = typer.Option(None, "--currency", help="ISO 4217 code (default from settings)."),
    stage: str = typer.Option(None, "--stage", help="Stage name (default: the first, Lead)."),
    close: str = typer.Option(None, "--close", help="Expected close date (WHEN)."),
    source: str = typer.Option(None, "--source", help="Where the deal came from."),
    next_step: str = typer.Option(None, "--next-step", help="The next step."),
) -> None:
    """Open a deal and print its id.

    Example: pycrm deal add "Renewal 2027" --contact ana --value 12000 --currency EUR --close +30d
    """
    from pycrm.services import deals, refs

    context = get_context(ctx)
    code = (currency or context.settings.currency).upper()
    minor = amount(context, value, code)
    expected = day(context, close, field="close") if close else None
    database = context.database()
    with database.write(f"deal add {title}") as session:
        contact_id = refs.resolve_contact(session, contact)
        company_id = refs.resolve_company(session, company) if company else None
        deal = deals.create_deal(
            session, title, contact_id=contact_id, company_id=company_id, amount=minor, currency=code,
            stage=stage, expected_close=expected, source=source, next_step=next_step,
        )  # fmt: skip
        new_id = deal.id
    line(str(new_id))


@app.command("list")
def list_(
    ctx: typer.Context,
    stage: str = typer.Option(None, "--stage", help="Only this stage."),
    open_: bool = typer.Option(False, "--open", help="Only open deals."),
    won: bool = typer.Option(False, "--won", help="Only won deals."),
    lost: bool = typer.Option(False, "--lost", help="Only lost deals."),
    limit: int = typer.Option(None, "--limit", help="At most N deals.", min=1),
    as_json: bool = typer.Option(False, "--json", help="Print JSON."),
) -> None:
    """List deals in pipeline order.

    Example: pycrm deal list --open --json
    """
    from pycrm.cli.quick import deal_list

    deal_list(
        get_context(ctx), stage=stage, open_=open_, won=won, lost=lost, limit=limit,
        as_json=as_json,
    )  # fmt: skip


@app.command("show")
def show(
    ctx: typer.Context,
    ref: str = typer.Argument(..., help="Id or a title matching one deal."),
    as_json: bool = typer.Option(False, "--json", help="Print JSON."),
) -> None:
    """One deal with its stage history.

    Example: pycrm deal show 12
    """
    from pycrm.money import format_money
    from pycrm.services import deals, refs

    database = get_context(ctx).database()
    with database.read() as session:
        did = refs.resolve_deal(session, ref)
        [summary] = deals.list_deals(session, deal_id=did)
        history = deals.stage_history(session, did)
    if as_json:
        from pycrm.cli.serialize import deal_json, local_iso

        data = deal_json(summary)
        data["stage_history"] = [{"stage": s, "entered_at": local_iso(at)} for s, at in history]
        print_json(data)
        return
    d = summary.deal
    line(f"{d.title}  (#{d.id})")
    line(f"  {summary.stage_name} · {format_money(d.amount, d.currency)} · {summary.probability} %")
    for label, value in (
        ("contact", summary.contact_name), ("company", summary.company_name),
        ("close", d.expected_close), ("next step", d.next_step), ("lost because", d.lost_reason),
    ):  # fmt: skip
        if value:
            line(f"  {label:>12}: {safe(value)}")
    for stage, at in history:
        line(f"  {local_text(at)} → {stage}")


def _move(ctx: typer.Context, ref: str, label: str, action: object) -> None:
    from pycrm.services import deals, refs, stages

    database = get_context(ctx).database()
    with database.write(label) as session:
        did = refs.resolve_deal(session, ref)
        action(session, did)  # type: ignore[operator]
        deal = deals.get_deal(session, did)
        stage = stages.get_stage(session, deal.stage_id).name
    note(f"deal #{did} is now {stage}")


@app.command("move")
def move(
    ctx: typer.Context,
    ref: str = typer.Argument(..., help="Deal id (or a title matching one deal)."),
    stage: str = typer.Argument(..., help="Target stage (name or unique prefix)."),
) -> None:
    """Move a deal to another stage (the stage history is kept).

    Example: pycrm deal move 12 proposal
    """
    from pycrm.services import deals

    _move(ctx, ref, f"deal move {ref} {stage}", lambda s, d: deals.move_deal(s, d, stage))


@app.command("won")
def won(ctx: typer.Context, ref: str = typer.Argument(..., help="Deal id (or title).")) -> None:
    """Close a deal as won.

    Example: pycrm deal won 12
    """
    from pycrm.services import deals

    _move(ctx, ref, f"deal won {ref}", deals.mark_won)


@app.command("lost")
def lost(
    ctx: typer.Context,
    ref: str = typer.Argument(..., help="Deal id (or title)."),
    reason: str = typer.Option(..., "--reason", help="Why it was lost (for the win-rate report)."),
) -> None:
    """Close a deal as lost, with the reason.

    Example: pycrm deal lost 12 --reason "chose a competitor"
    """
    from pycrm.services import deals

    _move(ctx, ref, f"deal lost {ref}", lambda s, d: deals.mark_lost(s, d, reason))
