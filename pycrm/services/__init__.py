"""The domain API: one module per noun, plain functions taking a SQLAlchemy Session.

Front ends (CLI, TUI, importers) call these and nothing lower. Services never import typer,
textual or rich; they return values and raise :mod:`pycrm.services.errors` exceptions.
Writes happen inside ``Database.write(label)`` so each command is one transaction and one
ChangeLog batch.
"""
