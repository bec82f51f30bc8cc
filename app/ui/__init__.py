"""Presentation: components, figures, i18n, tile maps, ids and exports."""
