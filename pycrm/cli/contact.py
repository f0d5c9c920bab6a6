"""`pycrm contact …`: add, list, show, edit, rm, merge, forget and export people."""

from __future__ import annotations

from typing import Any

import typer

from pycrm.cli.common import birthday_arg, confirm_or_exit, without_cycle_collector
from pycrm.cli.context import get_context
from pycrm.cli.output import line, note, print_json, safe

app = typer.Typer(
    help="People: add, list, show, edit, remove, merge, forget, export.", no_args_is_help=True
)


def _channel_option() -> Any:
    return typer.Option(
        None, "--channel", help="Preferred channel: email, call, message, meeting, visit."
    )


@app.command("add")
def add(
    ctx: typer.Context,
    name: str = typer.Argument(..., help="Full name as you say it."),
    email: list[str] = typer.Option([], "--email", "-e", help="E-mail (repeatable)."),
    phone: list[str] = typer.Option([], "--phone", "-p", help="Phone (repeatable)."),
    company: str = typer.Option(None, "--company", "-c", help="Company name (created if new)."),
    title: str = typer.Option(None, "--title", "-t", help="Job title."),
    tag: list[str] = typer.Option([], "--tag", help="Tag (repeatable)."),
    note_text: str = typer.Option(None, "--note", "-n", help="A note about them."),
    channel: str = _channel_option(),
    birthday: str = typer.Option(None, "--birthday", help="1990-11-24, 24/11 or --11-24."),
    source: str = typer.Option(None, "--source", help="Where they came from."),
    cadence: int = typer.Option(None, "--cadence", help="Stay in touch every N days."),
    as_json: bool = typer.Option(False, "--json", help="Print the new contact as JSON."),
) -> None:
    """Add a person and print the new id.

    Example: pycrm contact add "Ana Gonçalves" --email ana@acme.com --company Acme --tag vip
    """
    from pycrm.services import contacts

    context = get_context(ctx)
    database = context.database()
    with database.write(f"contact add {name}") as session:
        contact = contacts.create_contact(
            session, name, emails=email, phones=phone, company_name=company, title=title, tags=tag,
            notes=note_text, preferred_channel=channel, source=source, cadence_days=cadence,
            region=context.settings.region, **birthday_arg(birthday),
        )  # fmt: skip
        new_id = contact.id
        assert new_id is not None
        shared = _shared_addresses(session, new_id)
    for value, other_id, other_name in shared:
        note(
            f"note: {value} also belongs to {other_name} (#{other_id}); if they are one person: "
            f"pycrm contact merge {other_id} {new_id}"
        )
    if as_json:
        from pycrm.cli.serialize import contact_json

        with database.read() as session:
            print_json(
                contact_json(
                    contacts.summarize(session, [contacts.get_contact(session, new_id)])[0]
                )
            )
        return
    line(str(new_id))


def _shared_addresses(session: Any, contact_id: int) -> list[tuple[str, int, str]]:
    """(e-mail or phone, other contact's id, name) for each address the contact shares with
    someone else: a likely duplicate the user may want to merge (adding is still allowed, as
    shared addresses such as info@ are real)."""
    import sqlalchemy as sa

    from pycrm import tables as t

    e, p, c = t.contact_email, t.contact_phone, t.contact
    mine_e, mine_p = e.alias("mine_e"), p.alias("mine_p")
    by_email = (
        sa.select(e.c.email, c.c.id, c.c.display_name)
        .join(mine_e, mine_e.c.email_key == e.c.email_key)
        .join(c, c.c.id == e.c.contact_id)
        .where(mine_e.c.contact_id == contact_id, e.c.contact_id != contact_id)
    )
    by_phone = (
        sa.select(p.c.number, c.c.id, c.c.display_name)
        .join(mine_p, mine_p.c.number == p.c.number)
        .join(c, c.c.id == p.c.contact_id)
        .where(mine_p.c.contact_id == contact_id, p.c.contact_id != contact_id)
    )
    rows = {(v, i, n) for q in (by_email, by_phone) for v, i, n in session.execute(q)}
    return sorted(rows, key=lambda row: (row[1], row[0]))


@app.command("list")
@without_cycle_collector
def list_(
    ctx: typer.Context,
    tag: str = typer.Option(None, "--tag", help="Only people with this tag."),
    company: str = typer.Option(None, "--company", help="Only people at this company (REF)."),
    sort: str = typer.Option(
        "name", "--sort", help="name, recent (last touch) or value (won deals)."
    ),
    limit: int = typer.Option(None, "--limit", help="At most N people.", min=1),
    as_json: bool = typer.Option(False, "--json", help="Print JSON."),
) -> None:
    """List people.

    Example: pycrm contact list --tag vip --sort recent --limit 20
    """
    from pycrm.cli.quick import contact_list

    contact_list(
        get_context(ctx), tag=tag, company=company, sort=sort, limit=limit, as_json=as_json
    )


@app.command("show")
@without_cycle_collector
def show(
    ctx: typer.Context,
    ref: str = typer.Argument(..., help="Id, e-mail or a name matching one person."),
    as_json: bool = typer.Option(False, "--json", help="Print JSON."),
) -> None:
    """One person: details, deals, open follow-ups, next meeting, recent interactions.

    Example: pycrm contact show ana@acme.com
    """
    from pycrm.cli.quick import contact_show

    contact_show(get_context(ctx), ref, as_json=as_json)


@app.command("edit")
def edit(
    ctx: typer.Context,
    ref: str = typer.Argument(..., help="Id, e-mail or a name matching one person."),
    name: str = typer.Option(None, "--name", help="New display name."),
    email: list[str] = typer.Option([], "--email", "-e", help="Add an e-mail (repeatable)."),
    remove_email: list[str] = typer.Option([], "--remove-email", help="Remove an e-mail."),
    phone: list[str] = typer.Option([], "--phone", "-p", help="Add a phone (repeatable)."),
    company: str = typer.Option(None, "--company", "-c", help="Company name (created if new)."),
    title: str = typer.Option(None, "--title", "-t", help="Job title."),
    tag: list[str] = typer.Option([], "--tag", help="Add a tag (repeatable)."),
    untag: list[str] = typer.Option([], "--untag", help="Remove a tag (repeatable)."),
    note_text: str = typer.Option(None, "--note", "-n", help="Replace the notes."),
    channel: str = _channel_option(),
    birthday: str = typer.Option(None, "--birthday", help="1990-11-24, 24/11 or --11-24."),
    language: str = typer.Option(None, "--language", help="Language to speak with them."),
    best_time: str = typer.Option(None, "--best-time", help="When to reach them."),
    cadence: int = typer.Option(None, "--cadence", help="Stay in touch every N days."),
    do_not_contact: bool = typer.Option(
        None, "--do-not-contact/--ok-to-contact", help="Contact preference."
    ),
    source: str = typer.Option(None, "--source", help="Where they came from."),
    campaign: str = typer.Option(None, "--campaign", help="Campaign that brought them."),
) -> None:
    """Change a person's details.

    Example: pycrm contact edit ana --title CFO --tag vip --untag lead
    """
    from pycrm.services import contacts, refs

    context = get_context(ctx)
    fields = {
        "title": title, "notes": note_text, "preferred_channel": channel, "language": language,
        "best_time": best_time, "cadence_days": cadence, "do_not_contact": do_not_contact,
        "source": source, "campaign": campaign,
    }  # fmt: skip
    changes: dict[str, Any] = {k: v for k, v in fields.items() if v is not None}
    changes.update(birthday_arg(birthday))
    database = context.database()
    with database.write(f"contact edit {ref}") as session:
        cid = refs.resolve_contact(session, ref)
        contacts.update_contact(
            session, cid, display_name=name, add_emails=email, remove_emails=remove_email,
            add_phones=phone, add_tags=tag, remove_tags=untag, company_name=company,
            region=context.settings.region, **changes,
        )  # fmt: skip
    note(f"updated #{cid}")


@app.command("rm")
def rm(
    ctx: typer.Context,
    ref: str = typer.Argument(..., help="Id, e-mail or a name matching one person."),
    yes: bool = typer.Option(False, "--yes", "-y", help="Do not ask for confirmation."),
) -> None:
    """Delete a person with their interactions and follow-ups (undo with `pycrm undo`).

    Example: pycrm contact rm 42 --yes
    """
    from pycrm.services import contacts, refs

    database = get_context(ctx).database()
    with database.read() as session:
        cid = refs.resolve_contact(session, ref)
        name = contacts.get_contact(session, cid).display_name
    confirm_or_exit(f"Delete {safe(name)} (#{cid}) and their history?", yes)
    with database.write(f"contact rm {name}") as session:
        contacts.delete_contact(session, cid)
    note(f"deleted {name} (#{cid}); `pycrm undo` brings them back")


@app.command("merge")
def merge(
    ctx: typer.Context,
    keep: str = typer.Argument(..., help="The person to keep."),
    other: str = typer.Argument(..., help="The duplicate to fold into them."),
    yes: bool = typer.Option(False, "--yes", "-y", help="Do not ask for confirmation."),
) -> None:
    """Merge two duplicates, keeping every e-mail, phone, tag, note and all history.

    Example: pycrm contact merge 12 57
    """
    from pycrm.services import contacts, privacy, refs

    database = get_context(ctx).database()
    with database.read() as session:
        keep_id = refs.resolve_contact(session, keep)
        other_id = refs.resolve_contact(session, other)
        names = (
            contacts.get_contact(session, keep_id).display_name,
            contacts.get_contact(session, other_id).display_name,
        )
    confirm_or_exit(
        f"Merge {safe(names[1])} (#{other_id}) into {safe(names[0])} (#{keep_id})?", yes
    )
    with database.write(f"contact merge {names[0]} + {names[1]}") as session:
        privacy.merge_contacts(session, keep_id, other_id)
    note(f"merged #{other_id} into #{keep_id}")


@app.command("forget")
def forget(
    ctx: typer.Context,
    ref: str = typer.Argument(..., help="Id, e-mail or a name matching one person."),
    yes: bool = typer.Option(False, "--yes", "-y", help="Do not ask for confirmation."),
) -> None:
    """Erase a person and everything about them (privacy request). Cannot be undone.

    Example: pycrm contact forget ana@acme.com --yes
    """
    from pycrm.services import contacts, privacy, refs

    database = get_context(ctx).database()
    with database.read() as session:
        cid = refs.resolve_contact(session, ref)
        name = contacts.get_contact(session, cid).display_name
    confirm_or_exit(
        f"Erase {safe(name)} (#{cid}) and everything about them? This cannot be undone", yes
    )
    with database.write("contact forget") as session:
        counts = privacy.forget_contact(session, cid)
    if database.is_sqlite:
        with database.engine.connect() as conn:
            conn.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")
    note("erased #{}: {}".format(cid, ", ".join(f"{n} {k}" for k, n in counts.items())))


@app.command("export")
def export(
    ctx: typer.Context,
    ref: str = typer.Argument(..., help="Id, e-mail or a name matching one person."),
) -> None:
    """Everything stored about one person, as JSON (subject access request).

    Example: pycrm contact export ana@acme.com > ana.json
    """
    from pycrm.services import privacy, refs

    database = get_context(ctx).database()
    with database.read() as session:
        cid = refs.resolve_contact(session, ref)
        print_json(privacy.export_contact(session, cid))
