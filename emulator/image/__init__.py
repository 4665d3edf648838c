"""The image domain (Glance's slice): tables, the on-disk store, formats, rules. No HTTP."""
