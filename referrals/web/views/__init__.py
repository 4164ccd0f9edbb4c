"""Pages, one module per area; each view reads through selectors and writes through services."""
