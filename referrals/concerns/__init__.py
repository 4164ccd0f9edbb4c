"""Concerns: recording, drafts, attachments and the safeguarding lead's review."""
