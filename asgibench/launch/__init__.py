"""Starting a server under test: its CPUs, its readiness, its resource use, its profile, its stop."""
