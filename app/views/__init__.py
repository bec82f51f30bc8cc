"""View models: the frames and results the pages and the CLI show, built without Dash."""
