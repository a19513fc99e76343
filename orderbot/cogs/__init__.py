"""Extensions holding the slash commands."""
