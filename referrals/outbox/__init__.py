"""The outbox: notices written with the change that caused them, and the relay that sends them."""
