"""orderbot: a Discord order desk with a confirmation email for every order."""

__version__ = "1.0.0"
