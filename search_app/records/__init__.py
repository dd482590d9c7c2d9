"""Records-management pages: holds, retention schedules and disposal batches."""
