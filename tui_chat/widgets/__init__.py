"""Reusable widgets of the TUI. They render and report; they never call storage."""
