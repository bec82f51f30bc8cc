"""Jobs over the warehouse: the refresh and its steps, the scheduler, the inbox and the locks."""
