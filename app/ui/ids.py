"""Component ids shared across the shell and pages (page-local ids are prefixed with the page name)."""

from __future__ import annotations

from typing import Any

URL = "url"
NAV = "nav"
LANG_LINK = "lang-link"
APP_TITLE = "app-title"
PROFILE_LABEL = "profile-label"
PROFILE_SELECT = "profile-select"
PROFILES_VERSION = "profiles-version"  # bumped when a profile is saved, so the switcher re-reads weights/
FOOTER = "footer"
URL_STATE = "url-state"  # the shared query (profile, period) after an in-page choice, for the links and the address bar
SNAPSHOT_VERSION = "snapshot-version"  # bumped when "refresh now" finishes: pages listening re-read the snapshot


def print_button(page: Any) -> dict[str, Any]:
    """Pattern-matching id of a page's print button (one clientside callback serves them all)."""
    return {"type": "print-button", "page": page}
