"""Lambda's side of the triggers: the process a function runs in, and what invokes it."""
