"""The Discord side of the order flow: custom_ids, forms, buttons and message text."""
