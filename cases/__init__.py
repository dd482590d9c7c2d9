"""FOI / EIR / SAR request cases: collection, s.12 estimates, statistics, disclosure bundles."""
