"""The audit trail: what people did through the portal (support's trail). Used by oauth, onboarding
and support; imports none of them (the run link is a string foreign key)."""
