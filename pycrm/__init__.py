"""pycrm: a keyboard-first CRM for one salesperson, in the terminal and one local file."""

__version__ = "0.1.0"
