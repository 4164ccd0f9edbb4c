"""The statutory clocks: working calendar, routing, the running clock and the escalation sweep."""
