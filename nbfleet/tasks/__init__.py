"""doit task creators, one module per flow; dodo.py imports them."""
