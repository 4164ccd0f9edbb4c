"""The referral's life: make, submit, triage, decide, share, transfer; the queue and reports."""
