"""What must outlive a snapshot swap: weight profiles, the audit trail, users, run history, stored scores."""
