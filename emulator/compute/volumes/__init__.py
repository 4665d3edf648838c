"""Nova's volume side: block device mappings, ``os-volume_attachments`` (attach, detach,
update, swap), the volumes a server boots with, and what a server delete does to them."""
