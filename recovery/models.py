"""Service recovery: refused guests hear from us first. Built on reservations.Refusal (next issue)."""
