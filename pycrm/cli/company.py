"""`pycrm company …`: add, list, show, edit and remove organisations."""

from __future__ import annotations

import typer

from pycrm.cli.common import confirm_or_exit, local_text
from pycrm.cli.context import get_context
from pycrm.cli.output import line, note, print_json, safe

app = typer.Typer(help="Organisations: add, list, show, edit, remove.", no_args_is_help=True)


@app.command("add")
def add(
    ctx: typer.Context,
    name: str = typer.Argument(..., help="Company name."),
    domain: str = typer.Option(None, "--domain", help="Web domain, e.g. acme.com."),
    industry: str = typer.Option(None, "--industry", help="Industry."),
    size: str = typer.Option(None, "--size", help="Size, e.g. 11-50."),
    phone: str = typer.Option(None, "--phone", help="Main phone."),
    website: str = typer.Option(None, "--website", help="Website."),
    address: str = typer.Option(None, "--address", help="Postal address."),
    tag: list[str] = typer.Option([], "--tag", help="Tag (repeatable)."),
    note_text: str = typer.Option(None, "--note", "-n", help="A note."),
) -> None:
    """Add a company and print its id.

    Example: pycrm company add "Acme Ltda" --domain acme.com.br --industry Retail
    """
    from pycrm.services import companies

    database = get_context(ctx).database()
    with database.write(f"company add {name}") as session:
        company = companies.create_company(
            session, name, tags=tag, domain=domain, industry=industry, size=size, phone=phone,
            website=website, address=address, notes=note_text,
        )  # fmt: skip
        new_id = company.id
    line(str(new_id))


@app.command("list")
def list_(
    ctx: typer.Context,
    tag: str = typer.Option(None, "--tag", help="Only companies with this tag."),
    limit: int = typer.Option(None, "--limit", help="At most N companies.", min=1),
    as_json: bool = typer.Option(False, "--json", help="Print JSON."),
) -> None:
    """List companies with their people and open deals.

    Example: pycrm company list --limit 20
    """
    from pycrm.cli.quick import company_list

    company_list(get_context(ctx), tag=tag, limit=limit, as_json=as_json)


@app.command("show")
def show(
    ctx: typer.Context,
    ref: str = typer.Argument(..., help="Id or a name matching one company."),
    as_json: bool = typer.Option(False, "--json", help="Print JSON."),
) -> None:
    """One company: details, people, deals and recent interactions.

    Example: pycrm company show acme
    """
    from pycrm.money import format_money
    from pycrm.services import companies, contacts, deals, interactions, refs

    database = get_context(ctx).database()
    with database.read() as session:
        cid = refs.resolve_company(session, ref)
        [summary] = companies.summarize_companies(session, [companies.get_company(session, cid)])
        people = contacts.list_contacts(session, company_id=cid)
        company_deals = deals.list_deals(session, company_id=cid)
        history = interactions.list_interactions(session, company_id=cid, limit=10)
    if as_json:
        from pycrm.cli.serialize import company_json, contact_json, deal_json, interaction_json

        data = company_json(summary)
        data["people"] = [contact_json(p) for p in people]
        data["deals"] = [deal_json(d) for d in company_deals]
        data["interactions"] = [interaction_json(i) for i in history]
        print_json(data)
        return
    c = summary.company
    line(f"{c.name}  (#{c.id})")
    for label, value in (
        ("domain", c.domain), ("industry", c.industry), ("size", c.size), ("phone", c.phone),
        ("website", c.website), ("address", c.address), ("tags", ", ".join(summary.tags)), ("notes", c.notes),
    ):  # fmt: skip
        if value:
            line(f"  {label:>10}: {safe(value)}")
    if people:
        line("people:")
        for p in people:
            line(
                f"  #{p.contact.id} {p.contact.display_name}"
                + (f" — {p.contact.title}" if p.contact.title else "")
            )
    if company_deals:
        line("deals:")
        for d in company_deals:
            line(
                f"  #{d.deal.id} {d.deal.title} — {d.stage_name}, {format_money(d.deal.amount, d.deal.currency)}"
            )
    if history:
        line("recent interactions:")
        for i in history:
            line(f"  {local_text(i.occurred_at)} {i.type:<7} {i.summary}")


@app.command("edit")
def edit(
    ctx: typer.Context,
    ref: str = typer.Argument(..., help="Id or a name matching one company."),
    name: str = typer.Option(None, "--name", help="New name."),
    domain: str = typer.Option(None, "--domain", help="Web domain."),
    industry: str = typer.Option(None, "--industry", help="Industry."),
    size: str = typer.Option(None, "--size", help="Size."),
    phone: str = typer.Option(None, "--phone", help="Main phone."),
    website: str = typer.Option(None, "--website", help="Website."),
    address: str = typer.Option(None, "--address", help="Postal address."),
    tag: list[str] = typer.Option([], "--tag", help="Add a tag (repeatable)."),
    untag: list[str] = typer.Option([], "--untag", help="Remove a tag (repeatable)."),
    note_text: str = typer.Option(None, "--note", "-n", help="Replace the notes."),
) -> None:
    """Change a company's details.

    Example: pycrm company edit acme --industry Logistics --tag partner
    """
    from pycrm.services import companies, refs

    fields = {
        "domain": domain, "industry": industry, "size": size, "phone": phone,
        "website": website, "address": address, "notes": note_text,
    }  # fmt: skip
    database = get_context(ctx).database()
    with database.write(f"company edit {ref}") as session:
        cid = refs.resolve_company(session, ref)
        companies.update_company(
            session, cid, name=name, add_tags=tag, remove_tags=untag,
            **{k: v for k, v in fields.items() if v is not None},
        )  # fmt: skip
    note(f"updated #{cid}")


@app.command("rm")
def rm(
    ctx: typer.Context,
    ref: str = typer.Argument(..., help="Id or a name matching one company."),
    yes: bool = typer.Option(False, "--yes", "-y", help="Do not ask for confirmation."),
) -> None:
    """Delete a company; its people and deals stay, unlinked (undo with `pycrm undo`).

    Example: pycrm company rm 7 --yes
    """
    from pycrm.services import companies, refs

    database = get_context(ctx).database()
    with database.read() as session:
        cid = refs.resolve_company(session, ref)
        name = companies.get_company(session, cid).name
    confirm_or_exit(f"Delete company {safe(name)} (#{cid})?", yes)
    with database.write(f"company rm {name}") as session:
        companies.delete_company(session, cid)
    note(f"deleted {name} (#{cid}); `pycrm undo` brings it back")
