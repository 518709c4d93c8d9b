"""nbfleet's parts of a workshop hub: the warm-pool login (``login``), the pool keeper service (``keeper``) and the
pure decisions both share (``pool``). They run inside the workshop-hub image, next to JupyterHub."""
