"""Screens of the TUI: one per module, each with its stylesheet beside it."""
