"""The order state machine: states, transitions and the machine that drives every order."""
