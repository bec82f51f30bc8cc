"""The web edge: authentication, security checks and headers, downloads and background jobs."""
