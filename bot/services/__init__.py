"""Use cases: each takes the core, an actor and plain values, and returns a result or raises a UserError."""
