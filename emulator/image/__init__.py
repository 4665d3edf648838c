"""The image domain (Glance's slice): ``service`` is the entry point (one method per
operation); the rules live beside it (``records``, ``rows``, ``listing``, ``changes``,
``tags``, ``members``, ``data``, ``startup``, ``limits``, ``policy``, ``errors``), with the
tables (``models``), the on-disk store and the format inspection. No HTTP."""
