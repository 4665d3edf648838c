"""Block storage (Cinder): volumes, snapshots, attachments, the one volume type, quotas.

``service.VolumeService`` is the entry; ``states`` holds the status rules as tables,
``policy`` Cinder's default policy, ``store`` the seam to where volume data lives.
"""
