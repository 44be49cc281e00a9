"""Query helpers shared by services. They take a Session and never commit."""
