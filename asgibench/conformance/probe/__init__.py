"""``conform --server``: real servers run a recording app; crafted requests over a socket show what they deliver."""
