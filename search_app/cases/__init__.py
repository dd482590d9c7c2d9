"""Request case pages: dashboard, case page, evidence and bundles, statistics."""
