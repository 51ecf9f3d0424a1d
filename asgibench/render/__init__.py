"""Terminal rendering: the only package that imports Rich."""
