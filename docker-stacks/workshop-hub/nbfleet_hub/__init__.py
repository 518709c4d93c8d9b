"""nbfleet's parts of a workshop hub: the warm-pool login with its per-client cap (``login``), the pool keeper service
(``keeper``), the pure decisions both share (``pool``), the idle culler's wrapper (``culler``) and the busy culler
(``busy``). They run inside the workshop-hub image, next to JupyterHub."""
