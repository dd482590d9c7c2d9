"""The statutory deadline engine: working-day calendars, FOIA/EIR/SAR clocks and their records."""
